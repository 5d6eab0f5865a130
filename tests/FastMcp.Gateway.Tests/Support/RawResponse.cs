using System.Text;
using System.Text.Json;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>One response the client read: status, head and the decoded body.</summary>
internal sealed class RawResponse(WireHead head, int status, byte[] body, bool chunked)
{
    public WireHead Head { get; } = head;
    public int Status { get; } = status;
    public byte[] BodyBytes { get; } = body;
    public string Body => Encoding.UTF8.GetString(BodyBytes);

    /// <summary>The body was sent with Transfer-Encoding: chunked and ended with the 0-chunk.</summary>
    public bool Chunked { get; } = chunked;

    public string? Header(string name) => Head.Get(name);

    /// <summary>The body as a JSON-RPC error: its code and its id as raw JSON text ("null", "7", "\"abc\"").</summary>
    public (int Code, string IdJson) JsonRpcError()
    {
        using JsonDocument doc = ParseBody();
        JsonElement root = doc.RootElement;
        if (!root.TryGetProperty("error", out JsonElement error)) throw new Xunit.Sdk.XunitException($"not a JSON-RPC error: {Body}");
        string id = root.TryGetProperty("id", out JsonElement idElement) ? idElement.GetRawText() : "(absent)";
        return (error.GetProperty("code").GetInt32(), id);
    }

    /// <summary>The JSON-RPC id of the body as raw JSON text.</summary>
    public string IdJson()
    {
        using JsonDocument doc = ParseBody();
        return doc.RootElement.TryGetProperty("id", out JsonElement id) ? id.GetRawText() : "(absent)";
    }

    /// <summary>A string member of the JSON-RPC result object.</summary>
    public string ResultString(string name)
    {
        using JsonDocument doc = ParseBody();
        return doc.RootElement.GetProperty("result").GetProperty(name).GetString() ?? "";
    }

    private JsonDocument ParseBody()
    {
        try
        {
            return JsonDocument.Parse(BodyBytes);
        }
        catch (JsonException e)
        {
            throw new Xunit.Sdk.XunitException($"status {Status} body is not JSON ({e.Message}): '{Body}'");
        }
    }

    public override string ToString() => Head.Raw + Body;
}
