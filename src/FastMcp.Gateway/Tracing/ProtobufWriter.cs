using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace FastMcp.Gateway.Tracing;

/// <summary>
/// Protocol Buffers (proto3) wire format into one growable pooled buffer: varints, fixed64/fixed32, and
/// length-delimited fields. A nested message is written in place after room for its length, then the length is
/// written and the message moved up against it (lengths are not known before the message is written). Used on the
/// exporter's thread only; the buffer is kept between batches.
/// </summary>
internal sealed class ProtobufWriter : IDisposable
{
    private const int WireVarint = 0, WireFixed64 = 1, WireLengthDelimited = 2, WireFixed32 = 5;
    private const int LengthRoom = 5; // a varint of up to 2^35: any message this writer builds

    private byte[] _buffer;
    private int _length;

    public ProtobufWriter(int initialCapacity = 64 * 1024) => _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);

    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);
    public byte[] Buffer => _buffer;
    public int Length => _length;

    public void Clear() => _length = 0;

    public void Varint(int field, ulong value)
    {
        Tag(field, WireVarint);
        RawVarint(value);
    }

    public void Fixed64(int field, ulong value)
    {
        Tag(field, WireFixed64);
        BinaryPrimitives.WriteUInt64LittleEndian(Room(8), value);
        _length += 8;
    }

    public void Fixed32(int field, uint value)
    {
        Tag(field, WireFixed32);
        BinaryPrimitives.WriteUInt32LittleEndian(Room(4), value);
        _length += 4;
    }

    public void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, WireLengthDelimited);
        RawVarint((ulong)value.Length);
        value.CopyTo(Room(value.Length));
        _length += value.Length;
    }

    public void String(int field, string value)
    {
        Tag(field, WireLengthDelimited);
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (max < 128)
        {
            // One length byte suffices: encode straight after it.
            Span<byte> room = Room(1 + max);
            int n = Encoding.UTF8.GetBytes(value, room[1..]);
            room[0] = (byte)n;
            _length += 1 + n;
            return;
        }
        RawVarint((ulong)Encoding.UTF8.GetByteCount(value));
        int written = Encoding.UTF8.GetBytes(value, Room(max));
        _length += written;
    }

    /// <summary>Two pieces of text as one string field ("mcp " + method) without joining them first.</summary>
    public void String(int field, ReadOnlySpan<byte> prefix, string value)
    {
        Tag(field, WireLengthDelimited);
        int n = Encoding.UTF8.GetByteCount(value);
        RawVarint((ulong)(prefix.Length + n));
        prefix.CopyTo(Room(prefix.Length));
        _length += prefix.Length;
        _length += Encoding.UTF8.GetBytes(value, Room(n));
    }

    /// <summary>Opens a nested message field; returns where its content starts (pass to <see cref="EndMessage"/>).</summary>
    public int BeginMessage(int field)
    {
        Tag(field, WireLengthDelimited);
        Room(LengthRoom);
        _length += LengthRoom;
        return _length;
    }

    public void EndMessage(int contentStart)
    {
        int contentLength = _length - contentStart;
        Span<byte> length = stackalloc byte[LengthRoom];
        int n = EncodeVarint(length, (ulong)contentLength);
        int lengthAt = contentStart - LengthRoom;
        // Move the content up against its length (the room left was for the longest length).
        if (n < LengthRoom) _buffer.AsSpan(contentStart, contentLength).CopyTo(_buffer.AsSpan(lengthAt + n));
        length[..n].CopyTo(_buffer.AsSpan(lengthAt));
        _length -= LengthRoom - n;
    }

    private void Tag(int field, int wireType) => RawVarint((ulong)((field << 3) | wireType));

    private void RawVarint(ulong value)
    {
        _length += EncodeVarint(Room(10), value);
    }

    private static int EncodeVarint(Span<byte> destination, ulong value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    private Span<byte> Room(int bytes)
    {
        if (_length + bytes > _buffer.Length)
        {
            byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + bytes));
            _buffer.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        return _buffer.AsSpan(_length, bytes);
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _length = 0;
    }
}
