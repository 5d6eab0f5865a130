namespace FastMcp.Audit.Recording;

/// <summary>
/// The last few values of one string member of the record (decision, rule, approver, detail) with the bytes the JSON
/// writer wrote for them (comma, quoted name, colon, escaped value): these come from a handful of strings (one per
/// policy rule, a few fixed details), so a record copies their bytes instead of having the writer escape them again
/// (issue #14). A value is found by reference first, then by ordinal equality; the slots are reused in turn, their
/// arrays kept, so steady state allocates nothing. A value longer than <see cref="MaxValueChars"/> is not kept.
/// </summary>
internal sealed class EncodedStrings
{
    private const int Slots = 4;
    private const int MaxValueChars = 256;

    private readonly string?[] _values = new string?[Slots];
    private readonly byte[][] _bytes = [new byte[64], new byte[64], new byte[64], new byte[64]];
    private readonly int[] _lengths = new int[Slots];
    private int _next;

    public bool TryGet(string value, out ReadOnlySpan<byte> bytes)
    {
        for (int i = 0; i < Slots; i++)
        {
            string? kept = _values[i];
            if (ReferenceEquals(kept, value) || (kept is not null && kept.Length == value.Length && string.Equals(kept, value, StringComparison.Ordinal)))
            {
                bytes = _bytes[i].AsSpan(0, _lengths[i]);
                return true;
            }
        }
        bytes = default;
        return false;
    }

    /// <summary>Keeps <paramref name="bytes"/> as what <paramref name="value"/> is written as; returns them (kept or not).</summary>
    public ReadOnlySpan<byte> Put(string value, ReadOnlySpan<byte> bytes)
    {
        if (value.Length > MaxValueChars) return bytes;
        int slot = _next;
        _next = (slot + 1) % Slots;
        if (_bytes[slot].Length < bytes.Length) _bytes[slot] = new byte[Math.Max(bytes.Length, 2 * _bytes[slot].Length)];
        bytes.CopyTo(_bytes[slot]);
        _lengths[slot] = bytes.Length;
        _values[slot] = value;
        return _bytes[slot].AsSpan(0, bytes.Length);
    }
}
