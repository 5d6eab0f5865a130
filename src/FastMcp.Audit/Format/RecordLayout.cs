using System.Buffers.Binary;

namespace FastMcp.Audit.Format;

/// <summary>
/// Layout of one record inside a decompressed records frame:
/// u32 body length, body, 32-byte chain hash. The body starts with
/// u64 sequence, i64 time (µs since the Unix epoch, UTC), u8 event type, then a UTF-8 JSON object.
/// </summary>
public static class RecordLayout
{
    public const int LengthPrefix = 4;
    public const int ChainHashSize = 32;
    /// <summary>Binary prefix of a body before its JSON.</summary>
    public const int BodyPrefix = 17;
    public const int MaxBody = 16 * 1024 * 1024;

    public static long ReadSequence(ReadOnlySpan<byte> body) => (long)BinaryPrimitives.ReadUInt64LittleEndian(body);
    public static long ReadTimeMicros(ReadOnlySpan<byte> body) => BinaryPrimitives.ReadInt64LittleEndian(body[8..]);
    public static AuditEventType ReadType(ReadOnlySpan<byte> body) => (AuditEventType)body[16];
    public static ReadOnlySpan<byte> ReadJson(ReadOnlySpan<byte> body) => body[BodyPrefix..];
}
