using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>
/// The interop scenario set run with the official C# SDK (ModelContextProtocol) over Streamable
/// HTTP. The result is normalized like the TypeScript client's (no session ids, no times), so a
/// direct run and a gateway run compare equal.
/// </summary>
internal static partial class CsSdkScenarios
{
    public const string EchoMessage = "interop echo: héllo, wörld";
    public const int ProgressSteps = 4;
    private static readonly TimeSpan ScenarioTimeout = TimeSpan.FromSeconds(120);

    [GeneratedRegex(@"\b\d{1,2}:\d{2}:\d{2}(\s?[AP]M)?\b")]
    private static partial Regex ClockTime();

    private static string NormalizeText(string text) => ClockTime().Replace(text, "<time>");

    private static string Sha256(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    public static async Task<JsonObject> RunAsync(Uri url)
    {
        using var cts = new CancellationTokenSource(ScenarioTimeout);
        var ct = cts.Token;
        var recorder = new RecordingHandler();
        using var http = new HttpClient(recorder);
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions { Endpoint = url, TransportMode = HttpTransportMode.StreamableHttp, Name = "interop" },
            http,
            loggerFactory: null,
            ownsHttpClient: false);
        var options = new McpClientOptions
        {
            ClientInfo = new Implementation { Name = "fastmcp-interop-cs", Version = "1.0.0" },
        };

        var result = new JsonObject { ["client"] = "csharp-sdk" };
        var scenarios = new JsonObject();
        result["scenarios"] = scenarios;

        var client = await McpClient.CreateAsync(transport, options, cancellationToken: ct);
        string? sessionId;
        ServerCapabilities capabilities;
        Implementation? serverInfo;
        string? protocolVersion;
        try
        {
            sessionId = client.SessionId;
            capabilities = client.ServerCapabilities;
            serverInfo = client.ServerInfo;
            protocolVersion = client.NegotiatedProtocolVersion;
            scenarios["initialize"] = new JsonObject
            {
                ["serverName"] = serverInfo?.Name,
                ["serverTitle"] = serverInfo?.Title,
                ["serverVersion"] = serverInfo?.Version,
                ["protocolVersion"] = protocolVersion,
                ["capabilities"] = JsonSerializer.SerializeToNode(capabilities, McpJsonUtilities.DefaultOptions),
                ["instructionsSha256"] = Sha256(client.ServerInstructions ?? ""),
                ["hasSessionId"] = !string.IsNullOrEmpty(sessionId),
            };

            var tools = await client.ListToolsAsync(cancellationToken: ct);
            var names = new JsonArray();
            foreach (var name in tools.Select(t => t.Name).Order(StringComparer.Ordinal))
            {
                names.Add(name);
            }
            scenarios["tools-list"] = new JsonObject { ["names"] = names };

            var echo = await client.CallToolAsync(
                "echo", new Dictionary<string, object?> { ["message"] = EchoMessage }, cancellationToken: ct);
            scenarios["echo"] = new JsonObject
            {
                ["isError"] = echo.IsError ?? false,
                ["content"] = NormalizeContent(echo.Content),
            };

            // The SDK retires a call's IProgress when the result arrives and dispatches
            // notifications asynchronously, so the last step can miss it even though the server
            // sent it first. A session-wide handler sees every notification: count with that.
            var progress = new ConcurrentQueue<JsonNode>();
            var slow = default(CallToolResult);
            await using (client.RegisterNotificationHandler(
                NotificationMethods.ProgressNotification,
                (notification, _) =>
                {
                    progress.Enqueue(new JsonObject
                    {
                        ["progress"] = notification.Params?["progress"]?.DeepClone(),
                        ["total"] = notification.Params?["total"]?.DeepClone(),
                    });
                    return ValueTask.CompletedTask;
                }))
            {
                slow = await client.CallToolAsync(
                    "trigger-long-running-operation",
                    new Dictionary<string, object?> { ["duration"] = 1, ["steps"] = ProgressSteps },
                    new Progress<ProgressNotificationValue>(),
                    cancellationToken: ct);
                for (var i = 0; i < 100 && progress.Count < ProgressSteps; i++)
                {
                    await Task.Delay(20, ct);
                }
            }
            // Handlers may run concurrently: order by step, as the server sent them.
            var progressArray = new JsonArray([.. progress.OrderBy(p => (double?)p["progress"] ?? 0)]);
            scenarios["progress"] = new JsonObject
            {
                ["progressCount"] = progressArray.Count,
                ["progress"] = progressArray,
                ["isError"] = slow.IsError ?? false,
                ["content"] = NormalizeContent(slow.Content),
            };

            var reads = new JsonArray();
            foreach (var uri in new[]
            {
                "demo://resource/static/document/features.md",
                "demo://resource/dynamic/text/1",
                "demo://resource/dynamic/blob/2",
            })
            {
                var read = await client.ReadResourceAsync(uri, cancellationToken: ct);
                var contents = new JsonArray();
                foreach (var c in read.Contents)
                {
                    var item = new JsonObject { ["uri"] = c.Uri, ["mimeType"] = c.MimeType };
                    if (c is TextResourceContents text)
                    {
                        // Static text by digest; dynamic text (it embeds a time) normalized.
                        if (uri.Contains("/static/", StringComparison.Ordinal))
                        {
                            item["textSha256"] = Sha256(text.Text);
                            item["textLength"] = text.Text.Length;
                        }
                        else
                        {
                            item["text"] = NormalizeText(text.Text);
                        }
                    }
                    else if (c is BlobResourceContents blob)
                    {
                        item["blobText"] = NormalizeText(Encoding.UTF8.GetString(blob.DecodedData.Span));
                    }
                    contents.Add(item);
                }
                reads.Add(new JsonObject { ["uri"] = uri, ["contents"] = contents });
            }
            scenarios["resources-read"] = new JsonObject { ["reads"] = reads };

            var prompts = await client.ListPromptsAsync(cancellationToken: ct);
            var promptNames = new JsonArray();
            foreach (var name in prompts.Select(p => p.Name).Order(StringComparer.Ordinal))
            {
                promptNames.Add(name);
            }
            var simple = await client.GetPromptAsync("simple-prompt", cancellationToken: ct);
            var args = await client.GetPromptAsync(
                "args-prompt",
                new Dictionary<string, object?> { ["city"] = "Lisbon", ["state"] = "Estremadura" },
                cancellationToken: ct);
            scenarios["prompts-get"] = new JsonObject
            {
                ["names"] = promptNames,
                ["simple"] = NormalizeMessages(simple),
                ["args"] = NormalizeMessages(args),
            };
        }
        finally
        {
            // Disposing the client ends the session: the transport owns it and sends DELETE.
            await client.DisposeAsync();
        }

        scenarios["delete"] = new JsonObject
        {
            ["deleteStatus"] = recorder.LastStatus(HttpMethod.Delete),
            ["afterDelete"] = await CallWithEndedSessionAsync(url, sessionId, capabilities, serverInfo, protocolVersion, ct),
        };
        return result;
    }

    // Resumes the ended session by id and calls a tool: the server must refuse it.
    private static async Task<JsonObject> CallWithEndedSessionAsync(
        Uri url, string? sessionId, ServerCapabilities capabilities, Implementation? serverInfo, string? protocolVersion, CancellationToken ct)
    {
        var recorder = new RecordingHandler();
        using var http = new HttpClient(recorder);
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions
            {
                Endpoint = url,
                TransportMode = HttpTransportMode.StreamableHttp,
                KnownSessionId = sessionId,
                OwnsSession = false,
                EnableStandaloneGetStream = false,
            },
            http,
            loggerFactory: null,
            ownsHttpClient: false);
        McpClient? client = null;
        try
        {
            client = await McpClient.ResumeSessionAsync(
                transport,
                new ResumeClientSessionOptions
                {
                    ServerCapabilities = capabilities,
                    ServerInfo = serverInfo ?? new Implementation { Name = "unknown", Version = "0" },
                    NegotiatedProtocolVersion = protocolVersion,
                },
                cancellationToken: ct);
            await client.CallToolAsync(
                "echo", new Dictionary<string, object?> { ["message"] = "stale session" }, cancellationToken: ct);
            return new JsonObject { ["failed"] = false };
        }
        catch (Exception e) when (e is HttpRequestException or McpException or IOException)
        {
            return new JsonObject
            {
                ["failed"] = true,
                ["status"] = recorder.LastStatus(HttpMethod.Post),
            };
        }
        finally
        {
            if (client is not null)
            {
                await client.DisposeAsync();
            }
        }
    }

    private static JsonArray NormalizeContent(IEnumerable<ContentBlock> content)
    {
        var array = new JsonArray();
        foreach (var block in content)
        {
            array.Add(NormalizeBlock(block));
        }
        return array;
    }

    private static JsonObject NormalizeBlock(ContentBlock block) => block switch
    {
        TextContentBlock text => new JsonObject { ["type"] = "text", ["text"] = NormalizeText(text.Text) },
        _ => new JsonObject { ["type"] = block.Type },
    };

    private static JsonArray NormalizeMessages(GetPromptResult prompt)
    {
        var array = new JsonArray();
        foreach (var message in prompt.Messages)
        {
            array.Add(new JsonObject
            {
                ["role"] = message.Role == Role.User ? "user" : "assistant",
                ["content"] = NormalizeBlock(message.Content),
            });
        }
        return array;
    }

    /// <summary>Records each response's method and status, to see what the SDK got on the wire.</summary>
    private sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly ConcurrentQueue<(HttpMethod Method, HttpStatusCode Status)> _responses = new();

        public int? LastStatus(HttpMethod method)
        {
            int? status = null;
            foreach (var (m, s) in _responses)
            {
                if (m == method)
                {
                    status = (int)s;
                }
            }
            return status;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            _responses.Enqueue((request.Method, response.StatusCode));
            return response;
        }
    }
}
