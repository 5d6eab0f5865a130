using System.Buffers.Binary;

namespace FastMcp.Audit.Format;

/// <summary>
/// The fixed 24-byte header in front of every frame (little-endian):
/// magic "FMA1", kind, codec, 2 reserved zero bytes, stored length, raw length, record count, and a
/// CRC-32C over header bytes 0-19 followed by the stored payload (catches any flipped byte, including
/// ones in compressor metadata that would still decode, and torn writes).
/// </summary>
public readonly record struct FrameHeader(FrameKind Kind, FrameCodec Codec, int StoredLength, int RawLength, int RecordCount)
{
    public const int Size = 24;
    private const int CrcOffset = 20;
    /// <summary>"FMA1" read as a little-endian uint32.</summary>
    public const uint Magic = 0x31414D46;
    /// <summary>Upper bound on one frame's raw payload; a reader refuses more, so a corrupt length cannot make it allocate gigabytes.</summary>
    public const int MaxPayload = 64 * 1024 * 1024;

    /// <summary>Writes the header for <paramref name="storedPayload"/>, including its CRC.</summary>
    public void Write(Span<byte> destination, ReadOnlySpan<byte> storedPayload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        destination[4] = (byte)Kind;
        destination[5] = (byte)Codec;
        destination[6] = 0;
        destination[7] = 0;
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], StoredLength);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], RawLength);
        BinaryPrimitives.WriteInt32LittleEndian(destination[16..], RecordCount);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[CrcOffset..], ComputeCrc(destination, storedPayload));
    }

    public static uint ComputeCrc(ReadOnlySpan<byte> header, ReadOnlySpan<byte> storedPayload) =>
        ~Crc32C.Append(Crc32C.Append(~0u, header[..CrcOffset]), storedPayload);

    /// <summary>True when the CRC in <paramref name="header"/> matches the payload.</summary>
    public static bool CrcMatches(ReadOnlySpan<byte> header, ReadOnlySpan<byte> storedPayload) =>
        BinaryPrimitives.ReadUInt32LittleEndian(header[CrcOffset..]) == ComputeCrc(header, storedPayload);

    /// <summary>Parses and checks every header field; returns a reason on failure.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out FrameHeader header, out string? error)
    {
        header = default;
        if (source.Length < Size) { error = "frame header is cut short"; return false; }
        if (BinaryPrimitives.ReadUInt32LittleEndian(source) != Magic) { error = "bad frame magic"; return false; }
        var kind = (FrameKind)source[4];
        var codec = (FrameCodec)source[5];
        if (kind is < FrameKind.Header or > FrameKind.Seal) { error = $"unknown frame kind {source[4]}"; return false; }
        if (codec is not (FrameCodec.None or FrameCodec.Zstd)) { error = $"unknown frame codec {source[5]}"; return false; }
        if (source[6] != 0 || source[7] != 0) { error = "reserved frame header bytes are not zero"; return false; }
        int stored = BinaryPrimitives.ReadInt32LittleEndian(source[8..]);
        int raw = BinaryPrimitives.ReadInt32LittleEndian(source[12..]);
        int count = BinaryPrimitives.ReadInt32LittleEndian(source[16..]);
        if (stored <= 0 || raw <= 0 || stored > MaxPayload || raw > MaxPayload) { error = "frame length out of range"; return false; }
        if (codec == FrameCodec.None && stored != raw) { error = "uncompressed frame with stored length != raw length"; return false; }
        if (kind != FrameKind.Records && (codec != FrameCodec.None || count != 0)) { error = "note frame must be uncompressed with record count 0"; return false; }
        if (kind == FrameKind.Records && count <= 0) { error = "records frame with no records"; return false; }
        header = new FrameHeader(kind, codec, stored, raw, count);
        error = null;
        return true;
    }
}
