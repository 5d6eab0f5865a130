using System.Text;

namespace FastMcp.Gateway.Upstream;

/// <summary>
/// Tells the operator, once per upstream and kind of path, that a client sent a header field the gateway left out
/// because the upstream's forwardHeaders does not name it: an upstream that needs one (a toolset selector) then
/// behaves differently in ways hard to trace back to the gateway. Once, not per request (every client may send it),
/// at info: dropping is the intended default, not a fault. The field's name only, never its value (it may be a key).
/// </summary>
internal sealed class DroppedHeaderNotice(string upstreamName)
{
    private int _toldPlain, _toldFederated;

    /// <summary>A request to this upstream carried <paramref name="name"/> and the upstream did not get it.</summary>
    public void Report(ReadOnlySpan<byte> name, bool federatedPath)
    {
        ref int told = ref federatedPath ? ref _toldFederated : ref _toldPlain;
        if (Volatile.Read(ref told) != 0 || Interlocked.Exchange(ref told, 1) != 0) return;
        string field = upstreamName == Configuration.RouteValidation.DefaultUpstreamName ? "upstream.forwardHeaders" : $"upstreams.{upstreamName}.forwardHeaders";
        // A field name is a token (the parser refuses anything else): safe to write as it is.
        string fieldName = Encoding.ASCII.GetString(name);
        Hosting.Log.Info(federatedPath
            ? $"upstream {upstreamName}: the client's header field {fieldName} is not forwarded (a federated path passes none of the client's other header fields); later ones are not logged"
            : $"upstream {upstreamName}: the client's header field {fieldName} is not forwarded (not in {field}); later ones are not logged");
    }
}
