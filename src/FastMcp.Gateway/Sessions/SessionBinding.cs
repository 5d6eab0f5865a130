using System.Diagnostics;

namespace FastMcp.Gateway.Sessions;

/// <summary>One session id (an upstream's on a plain route, the gateway's own on a federated path) and the caller it is bound to.</summary>
internal sealed class SessionBinding(string id, CallerBindings caller)
{
    public readonly string Id = id;
    public readonly CallerBindings Caller = caller;
    // Stopwatch ticks, not milliseconds: sessions opened in the same millisecond still have an order to evict by.
    public long LastUsed = Stopwatch.GetTimestamp();
    /// <summary>Where the binding sits in its caller's <see cref="CallerBindings.Held"/> (under the table's lock).</summary>
    public int Slot;
}
