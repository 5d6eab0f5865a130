using System.Text.Json;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// The skeleton of a minimal MCP server behind a federated path, for <see cref="ScriptedUpstream"/>: DELETE answers 200,
/// other methods but POST 405, notifications 202, initialize a tools-capable result naming the server (with session
/// "s-NAME"); every other request goes to the test's own answer, with its id as JSON.
/// </summary>
internal static class ScriptedMember
{
    public static Func<UpstreamExchange, Task> Serve(string name, Func<UpstreamExchange, string, Task> answer, string initializeHeaders = "") => async x =>
    {
        if (x.Request.Method != "POST")
        {
            await x.RespondAsync(x.Request.Method == "DELETE" ? 200 : 405, "", "");
            return;
        }
        string idJson, method;
        using (JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes))
        {
            if (!doc.RootElement.TryGetProperty("id", out JsonElement id))
            {
                await x.RespondAsync(202, "", "");
                return;
            }
            idJson = id.GetRawText();
            method = doc.RootElement.GetProperty("method").GetString()!;
        }
        if (method != "initialize")
        {
            await answer(x, idJson);
            return;
        }
        await x.RespondJsonAsync(Result(idJson, "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"" + name + "\",\"version\":\"1\"}}"),
            $"Mcp-Session-Id: s-{name}\r\n" + initializeHeaders);
    };

    /// <summary>A JSON-RPC result message.</summary>
    public static string Result(string idJson, string resultJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":" + resultJson + "}";
}
