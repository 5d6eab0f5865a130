using System.Threading.Channels;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>One line the stdio server wrote; <see cref="Final"/> when it is the answer that ends a call.</summary>
internal readonly record struct BridgeMessage(byte[] Json, bool Final);

/// <summary>
/// Where the server's messages for one HTTP response go: a client request waiting for its answer, or
/// the session's GET stream. Bounded, so a reader that stops taking messages holds back the server
/// (its stdout fills) instead of growing memory.
/// </summary>
internal sealed class MessageStream
{
    public MessageStream(string? idKey) => IdKey = idKey;

    /// <summary>The id of the client request this stream answers; null for the GET stream.</summary>
    public string? IdKey { get; }

    public Channel<BridgeMessage> Messages { get; } = Channel.CreateBounded<BridgeMessage>(
        new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait });
}
