using System.Buffers;
using System.Security.Cryptography;

namespace FastMcp.Gateway.Forwarding;

/// <summary>
/// The one encoder of what the upstream got besides the body and the query: the approval digest's <c>headers</c> and
/// <c>cookies</c> lines (docs/approvals.md) and the audit record's <c>component.headers</c> and <c>component.cookies</c>
/// (docs/audit-format.md §9) are written by it, so an auditor reads the same text in both.
/// <list type="bullet">
/// <item>Headers line: <c>name:value</c> entries, the name lowercased, the value as forwarded (card numbers masked by
/// the caller) with '%', ',' and every byte that is not printable ASCII written %XX (uppercase hex). A field the audit
/// redacts is written <c>name=MAC</c> instead (MAC: lowercase hex HMAC-SHA-256 of the value): a name is a token, so
/// neither ':' nor '=' can be part of it, and the separator says which the entry holds.</item>
/// <item>Cookies line: every Cookie field split at ';' into pairs (OWS trimmed, empty pairs skipped); an entry is the
/// name (before the first '='; '%', ',', ':' and non-printable bytes as %XX; "cookie2:" first for a Cookie2 field's
/// pair), then '=' and the MAC of the value; a pair without '=' is the prefix and the MAC of its text alone.</item>
/// <item>Both: entries sorted by what precedes the separator (ordinal), equal names kept in the order sent; joined with ','.</item>
/// </list>
/// Reusable: <see cref="Clear"/>, add fields, <see cref="Write"/>. Once its buffers have grown it allocates nothing.
/// </summary>
internal sealed class ForwardedFieldLine
{
    // How an entry is written: name:escaped text, name=MAC, or prefix and MAC alone (a cookie pair without '=').
    private const byte Text = 0, Mac = 1, MacNoSeparator = 2;

    private struct Entry
    {
        public int KeyStart, KeyLength, ValueStart, ValueLength;
        public byte Form;
    }

    private byte[] _bytes = new byte[256];
    private int _used;
    private Entry[] _entries = new Entry[8];
    private int _count;

    /// <summary>Nothing added since the last <see cref="Clear"/>: the line is empty.</summary>
    public bool IsEmpty => _count == 0;

    public void Clear()
    {
        _used = 0;
        _count = 0;
    }

    /// <summary>
    /// Adds a header field (any letter case; lowercased here). Returns the stored copy of the value, for the caller to mask
    /// card numbers in place before anything else is added. <paramref name="redacted"/>: recorded by MAC, not text.
    /// </summary>
    public Span<byte> AddHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool redacted)
    {
        int keyStart = Append(name);
        System.Text.Ascii.ToLowerInPlace(_bytes.AsSpan(keyStart, name.Length), out _);
        int valueStart = Append(value);
        Add(keyStart, name.Length, valueStart, value.Length, redacted ? Mac : Text);
        return _bytes.AsSpan(valueStart, value.Length);
    }

    /// <summary>
    /// Adds one Cookie (or, <paramref name="cookie2"/>, Cookie2) field's pairs. The field's value must already be masked:
    /// its pairs are only MACed, so a card number in one would not be seen in the line anyway, but its fingerprint is due.
    /// </summary>
    public void AddCookieField(bool cookie2, ReadOnlySpan<byte> value)
    {
        ReadOnlySpan<byte> rest = value;
        for (int guard = 0; guard <= value.Length; guard++)
        {
            int semicolon = rest.IndexOf((byte)';');
            ReadOnlySpan<byte> pair = Http.HttpTokens.TrimOws(semicolon < 0 ? rest : rest[..semicolon]);
            if (!pair.IsEmpty)
            {
                int equals = pair.IndexOf((byte)'=');
                int keyStart = _used;
                if (cookie2) Append("cookie2:"u8);
                if (equals >= 0) AppendEscaped(pair[..equals], escapeColon: true);
                int keyLength = _used - keyStart;
                ReadOnlySpan<byte> macked = equals >= 0 ? pair[(equals + 1)..] : pair;
                int valueStart = Append(macked);
                Add(keyStart, keyLength, valueStart, macked.Length, equals >= 0 ? Mac : MacNoSeparator);
            }
            if (semicolon < 0) break;
            rest = rest[(semicolon + 1)..];
        }
    }

    /// <summary>The line's length as <see cref="Write"/> writes it.</summary>
    public int Length
    {
        get
        {
            int length = Math.Max(0, _count - 1);
            for (int i = 0; i < _count; i++) length += EntryLength(_entries[i]);
            return length;
        }
    }

    /// <summary>Writes the line (nothing when empty); <paramref name="macKey"/> keys the MACs of MACed entries.</summary>
    public void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> macKey)
    {
        if (_count == 0) return;
        SortByKey();
        Span<byte> line = output.GetSpan(Length);
        Span<byte> mac = stackalloc byte[32];
        int at = 0;
        for (int i = 0; i < _count; i++)
        {
            ref Entry e = ref _entries[i];
            if (i > 0) line[at++] = (byte)',';
            _bytes.AsSpan(e.KeyStart, e.KeyLength).CopyTo(line[at..]);
            at += e.KeyLength;
            ReadOnlySpan<byte> value = _bytes.AsSpan(e.ValueStart, e.ValueLength);
            if (e.Form == Text)
            {
                line[at++] = (byte)':';
                at += WriteEscaped(value, line[at..], escapeColon: false);
                continue;
            }
            if (e.Form == Mac) line[at++] = (byte)'=';
            HMACSHA256.HashData(macKey, value, mac);
            for (int b = 0; b < mac.Length; b++)
            {
                line[at++] = LowerHex[mac[b] >> 4];
                line[at++] = LowerHex[mac[b] & 0xF];
            }
        }
        output.Advance(at);
    }

    private static ReadOnlySpan<byte> LowerHex => "0123456789abcdef"u8;
    private static ReadOnlySpan<byte> UpperHex => "0123456789ABCDEF"u8;

    private int EntryLength(in Entry e)
    {
        if (e.Form != Text) return e.KeyLength + (e.Form == Mac ? 1 : 0) + 64;
        int length = e.KeyLength + 1;
        foreach (byte b in _bytes.AsSpan(e.ValueStart, e.ValueLength)) length += Escapes(b, escapeColon: false) ? 3 : 1;
        return length;
    }

    private static bool Escapes(byte b, bool escapeColon) => b is < 0x20 or >= 0x7F or (byte)'%' or (byte)',' || (escapeColon && b == (byte)':');

    private static int WriteEscaped(ReadOnlySpan<byte> bytes, Span<byte> output, bool escapeColon)
    {
        int at = 0;
        foreach (byte b in bytes)
        {
            if (!Escapes(b, escapeColon))
            {
                output[at++] = b;
                continue;
            }
            output[at++] = (byte)'%';
            output[at++] = UpperHex[b >> 4];
            output[at++] = UpperHex[b & 0xF];
        }
        return at;
    }

    private void AppendEscaped(ReadOnlySpan<byte> bytes, bool escapeColon)
    {
        Ensure(bytes.Length * 3);
        _used += WriteEscaped(bytes, _bytes.AsSpan(_used), escapeColon);
    }

    private int Append(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        int start = _used;
        bytes.CopyTo(_bytes.AsSpan(start));
        _used += bytes.Length;
        return start;
    }

    private void Ensure(int more)
    {
        if (_bytes.Length - _used >= more) return;
        Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _used + more));
    }

    private void Add(int keyStart, int keyLength, int valueStart, int valueLength, byte form)
    {
        if (_count == _entries.Length) Array.Resize(ref _entries, _entries.Length * 2);
        _entries[_count++] = new Entry { KeyStart = keyStart, KeyLength = keyLength, ValueStart = valueStart, ValueLength = valueLength, Form = form };
    }

    /// <summary>Stable insertion sort by key (few entries per request): equal names keep the order sent, which upstreams heed.</summary>
    private void SortByKey()
    {
        for (int i = 1; i < _count; i++)
        {
            Entry moving = _entries[i];
            ReadOnlySpan<byte> key = _bytes.AsSpan(moving.KeyStart, moving.KeyLength);
            int j = i - 1;
            while (j >= 0 && _bytes.AsSpan(_entries[j].KeyStart, _entries[j].KeyLength).SequenceCompareTo(key) > 0)
            {
                _entries[j + 1] = _entries[j];
                j--;
            }
            _entries[j + 1] = moving;
        }
    }
}
