using FastMcp.Audit.Reading;
using FastMcp.Audit.Recording;

namespace FastMcp.Audit.Tests;

/// <summary>What a warmed serializer allocates writing the same event over and over.</summary>
internal static class SerializerAllocations
{
    /// <summary>
    /// Bytes allocated by 200 writes of <paramref name="e"/> after 50 to warm up. <paramref name="fresh"/>: every
    /// write serializes the shared fields itself (the event forgets what it kept); otherwise they are copied from the
    /// write before.
    /// </summary>
    public static long OfRepeatedWrites(AuditRecordSerializer serializer, AuditEvent e, bool fresh)
    {
        var buffer = new GrowableBuffer(64 * 1024);
        int sequence = 0;
        while (sequence < 50) Write();
        // A window the measurement repeats goes on numbering where the one before stopped.
        return ThreadAllocations.Measure(() => { for (int i = 0; i < 200; i++) Write(); });

        void Write()
        {
            if (fresh) e.ForgetSharedFields();
            buffer.Clear();
            serializer.Write(buffer, e, sequence++, 1);
        }
    }
}
