using System.Buffers.Binary;
using FastMcp.Audit.Format;

namespace FastMcp.Audit.Reading;

/// <summary>Splits a decompressed records payload into (body, stored chain hash) entries, checking every length.</summary>
public ref struct RecordIterator(ReadOnlySpan<byte> payload)
{
    private ReadOnlySpan<byte> _rest = payload;

    public readonly bool AtEnd => _rest.IsEmpty;

    public bool TryNext(out ReadOnlySpan<byte> body, out ReadOnlySpan<byte> storedChain, out string? error)
    {
        body = default;
        storedChain = default;
        if (_rest.Length < RecordLayout.LengthPrefix) { error = "record length prefix cut short"; return false; }
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(_rest);
        if (length < RecordLayout.BodyPrefix + 2 || length > RecordLayout.MaxBody) { error = $"record body length {length} out of range"; return false; }
        int need = RecordLayout.LengthPrefix + (int)length + RecordLayout.ChainHashSize;
        if (_rest.Length < need) { error = "record extends past the end of its frame"; return false; }
        body = _rest.Slice(RecordLayout.LengthPrefix, (int)length);
        storedChain = _rest.Slice(RecordLayout.LengthPrefix + (int)length, RecordLayout.ChainHashSize);
        _rest = _rest[need..];
        error = null;
        return true;
    }
}
