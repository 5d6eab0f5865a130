using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace FastMcp.BenchUpstream;

/// <summary>
/// Serves one keep-alive connection: frames every request in the receive buffer, answers each
/// with canned bytes, then flushes once (streamed answers flush per event, as a real server would).
/// </summary>
internal sealed class UpstreamConnection(IDuplexPipe transport, CannedResponses canned, byte[] path)
{
    private static long s_sessions;

    private readonly HttpRequestReader _reader = new(path);
    // Values of a streamed answer, copied out of the receive buffer so they survive the flushes.
    private readonly byte[] _streamId = new byte[256];
    private readonly byte[] _streamToken = new byte[256];

    public async Task RunAsync()
    {
        var input = transport.Input;
        var output = transport.Output;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                var action = Serve(ref buffer, output, out var idLength, out var tokenLength);
                input.AdvanceTo(buffer.Start, action == ServeAction.Stream ? buffer.Start : buffer.End);

                if (action == ServeAction.Stream)
                {
                    await StreamAsync(output, idLength, tokenLength).ConfigureAwait(false);
                    continue;
                }

                var flush = await output.FlushAsync().ConfigureAwait(false);
                if (action == ServeAction.Close || result.IsCompleted || flush.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (IOException)
        {
            // The peer went away mid-request; nothing to answer.
        }
        catch (System.Net.Sockets.SocketException)
        {
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
            await output.CompleteAsync().ConfigureAwait(false);
        }
    }

    private enum ServeAction : byte { Continue, Stream, Close }

    private ServeAction Serve(ref ReadOnlySequence<byte> buffer, PipeWriter output, out int idLength, out int tokenLength)
    {
        idLength = 0;
        tokenLength = -1;
        while (true)
        {
            if (!_reader.TryRead(ref buffer, out var request, out var fault))
            {
                switch (fault)
                {
                    case RequestFault.None:
                        return ServeAction.Continue;
                    case RequestFault.HeadTooLarge:
                        ResponseWriter.WriteRaw(output, ResponseWriter.HeadTooLarge);
                        return ServeAction.Close;
                    case RequestFault.BodyTooLarge:
                        ResponseWriter.WriteRaw(output, ResponseWriter.BodyTooLarge);
                        return ServeAction.Close;
                    default:
                        ResponseWriter.WriteRaw(output, ResponseWriter.BadRequest);
                        return ServeAction.Close;
                }
            }

            if (!request.PathMatches)
            {
                ResponseWriter.WriteRaw(output, ResponseWriter.NotFound);
            }
            else if (request.Verb == RequestVerb.Delete)
            {
                ResponseWriter.WriteRaw(output, ResponseWriter.Deleted);
            }
            else if (request.Verb != RequestVerb.Post)
            {
                ResponseWriter.WriteRaw(output, ResponseWriter.MethodNotAllowed);
            }
            else if (!McpRequestFields.TryRead(request.Body, out var fields))
            {
                ResponseWriter.WriteRaw(output, ResponseWriter.BadRequest);
                return ServeAction.Close;
            }
            else if (fields.IsNotification || !fields.HasId || fields.Method == McpMethod.None)
            {
                // Notifications and client responses carry nothing to answer.
                ResponseWriter.WriteRaw(output, ResponseWriter.Accepted);
            }
            else
            {
                var body = request.Body;
                var values = new TemplateValues(body[fields.Id], fields.HasProgressToken ? body[fields.ProgressToken] : default);
                if (fields.Method == McpMethod.ToolsCall && body[fields.ToolName].SequenceEqual("stream"u8)
                    && values.Id.Length <= _streamId.Length && values.ProgressToken.Length <= _streamToken.Length)
                {
                    values.Id.CopyTo(_streamId);
                    idLength = values.Id.Length;
                    if (fields.HasProgressToken)
                    {
                        values.ProgressToken.CopyTo(_streamToken);
                        tokenLength = values.ProgressToken.Length;
                    }

                    return ServeAction.Stream;
                }

                Answer(output, fields.Method, body[fields.ToolName], values);
            }

            if (request.CloseAfter)
            {
                return ServeAction.Close;
            }
        }
    }

    private void Answer(PipeWriter output, McpMethod method, ReadOnlySpan<byte> toolName, in TemplateValues values)
    {
        switch (method)
        {
            case McpMethod.Initialize:
                ResponseWriter.WriteJson(output, canned.Initialize, values, Interlocked.Increment(ref s_sessions));
                break;
            case McpMethod.Ping:
                ResponseWriter.WriteJson(output, canned.Ping, values);
                break;
            case McpMethod.ToolsList:
                ResponseWriter.WriteJson(output, canned.ToolsList, values);
                break;
            case McpMethod.ToolsCall:
                var body = toolName.SequenceEqual("echo"u8) ? canned.Echo
                    : toolName.SequenceEqual("cards"u8) ? canned.Cards
                    : toolName.SequenceEqual("drop_database"u8) ? canned.DropDatabase
                    : canned.UnknownTool;
                ResponseWriter.WriteJson(output, body, values);
                break;
            default:
                ResponseWriter.WriteJson(output, canned.UnknownMethod, values);
                break;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask StreamAsync(PipeWriter output, int idLength, int tokenLength)
    {
        var events = tokenLength >= 0 ? canned.StreamWithProgress : canned.StreamWithLogs;
        ResponseWriter.WriteSseHead(output);
        for (var i = 0; i < events.Length; i++)
        {
            WriteEvent(output, events[i], idLength, tokenLength);
            if (i == events.Length - 1)
            {
                ResponseWriter.WriteChunkedEnd(output);
            }

            await output.FlushAsync().ConfigureAwait(false);
        }
    }

    private void WriteEvent(PipeWriter output, BodyTemplate message, int idLength, int tokenLength)
    {
        var values = new TemplateValues(_streamId.AsSpan(0, idLength), tokenLength >= 0 ? _streamToken.AsSpan(0, tokenLength) : default);
        ResponseWriter.WriteSseEvent(output, message, values);
    }
}
