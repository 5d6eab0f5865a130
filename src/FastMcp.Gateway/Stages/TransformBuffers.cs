using FastMcp.Gateway.Buffers;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Buffers a response transform works in while it handles one message. Every client connection's
/// relay owns one set and hands it to the transforms, which keep only configuration: what one
/// caller's answer is rewritten into can never reach another caller.
/// </summary>
internal sealed class TransformBuffers : IDisposable
{
    /// <summary>The JSON of a message that had to be assembled first (an event's data lines joined).</summary>
    public PooledBufferWriter Json { get; } = new(4 * 1024);

    /// <summary>The rewritten message.</summary>
    public PooledBufferWriter Output { get; } = new(8 * 1024);

    /// <summary>After a rare large message: give the big arrays back, keep small ones for the next message.</summary>
    public void Trim()
    {
        Json.TrimTo(64 * 1024);
        Output.TrimTo(64 * 1024);
    }

    /// <summary>Between exchanges: hold no arrays while the connection waits.</summary>
    public void Release()
    {
        Json.Release();
        Output.Release();
    }

    public void Dispose()
    {
        Json.Dispose();
        Output.Dispose();
    }
}
