namespace FastMcp.Http;

/// <summary>Sizing of the per-connection buffers a head is copied into.</summary>
public static class HeadBuffer
{
    /// <summary>Enough for a typical MCP request head with a bearer JWT; larger heads grow the buffer once.</summary>
    public const int InitialSize = 4 * 1024;

    /// <summary>
    /// An upstream's answer head (status line, content type and length, a few more): a few hundred bytes. Every
    /// in-flight call holds one upstream connection, so this is paid once per upstream connection, 1,000 at a time.
    /// </summary>
    public const int InitialResponseSize = 1024;

    /// <summary>Grows <paramref name="buffer"/> to hold <paramref name="needed"/> bytes (a power of two, at most <paramref name="max"/>).</summary>
    public static void EnsureCapacity(ref byte[] buffer, int needed, int max)
    {
        if (needed <= buffer.Length) return;
        int size = (int)Math.Min((uint)max, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)needed));
        buffer = new byte[Math.Max(size, needed)];
    }
}
