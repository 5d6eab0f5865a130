using System.Text;
using FastMcp.Pan.Payloads;

namespace FastMcp.Pan;

/// <summary>
/// The JSON member names whose value is sensitive authentication data (PCI DSS 3.3.1: card security codes, PINs and
/// PIN blocks), which may not be kept even masked, so their whole value is masked. A name matches ASCII
/// case-insensitively with '_' and '-' ignored ("card_verification_value", "CardVerificationValue"), after JSON
/// unescaping ("c\u0076v"). Immutable; <see cref="PanMasker"/> holds one.
/// </summary>
public sealed class SensitiveMemberNames
{
    public const int MaxNames = 100;
    public const int MaxNameLength = 64;

    /// <summary>Card security codes under their brands' names, and PINs.</summary>
    public static readonly IReadOnlyList<string> Default =
    [
        "cvv", "cvv2", "cvc", "cvc2", "cid", "cav2", "csc", "cvn", "securitycode", "cardsecuritycode",
        "cardverificationvalue", "cardverificationcode", "pin", "pinblock",
    ];

    /// <summary>Normalized names (lower case, no separators).</summary>
    private readonly byte[][] _names;
    /// <summary>Bytes a member name's first character may be (any case of a name's first letter, or a separator).</summary>
    private readonly bool[] _firstBytes = new bool[256];
    /// <summary>Bit n-1 set: some normalized name is n bytes long.</summary>
    private readonly ulong _lengths;

    public SensitiveMemberNames(IReadOnlyList<string>? names)
    {
        names ??= [];
        if (Validate(names, out int index) is { } error) throw new ArgumentException($"SensitiveMembers[{index}] {error}.", nameof(names));
        var normalized = new List<byte[]>(names.Count);
        Span<byte> buffer = stackalloc byte[MaxNameLength];
        foreach (string name in names)
        {
            int length = Normalize(Encoding.ASCII.GetBytes(name), buffer);
            byte[] n = buffer[..length].ToArray();
            if (!normalized.Exists(x => x.AsSpan().SequenceEqual(n))) normalized.Add(n);
            _firstBytes[n[0]] = true;
            _lengths |= 1UL << (n.Length - 1);
            if (n[0] is >= (byte)'a' and <= (byte)'z') _firstBytes[n[0] - 0x20] = true;
        }
        _firstBytes['_'] = _firstBytes['-'] = normalized.Count > 0;
        _names = [.. normalized];
    }

    /// <summary>No names: nothing is masked by name.</summary>
    public bool IsEmpty => _names.Length == 0;

    /// <summary>Number of distinct names.</summary>
    public int Count => _names.Length;

    /// <summary>
    /// Why <paramref name="names"/> cannot be used (null when it can), and the index of the first bad name: names must be
    /// non-empty ASCII of at most 64 characters, hold a character other than '_' and '-', and be at most 100.
    /// </summary>
    public static string? Validate(IReadOnlyList<string> names, out int index)
    {
        index = 0;
        if (names.Count > MaxNames)
        {
            index = MaxNames;
            return $"is one name too many: at most {MaxNames}";
        }
        for (index = 0; index < names.Count; index++)
        {
            string name = names[index];
            if (string.IsNullOrEmpty(name)) return "is empty";
            if (name.Length > MaxNameLength) return $"is longer than {MaxNameLength} characters";
            if (!Ascii.IsValid(name) || name.AsSpan().IndexOfAnyInRange('\0', '\u001F') >= 0) return "must be printable ASCII";
            if (name.AsSpan().Trim("_-").IsEmpty) return "has no character other than '_' and '-'";
        }
        return null;
    }

    /// <summary>Whether an unescaped member name is one of the names.</summary>
    public bool Matches(ReadOnlySpan<byte> name)
    {
        if (_names.Length == 0) return false;
        Span<byte> buffer = stackalloc byte[MaxNameLength];
        int length = Normalize(name, buffer);
        if (length <= 0) return false;
        ReadOnlySpan<byte> normalized = buffer[..length];
        foreach (byte[] n in _names)
        {
            if (n.Length == length && normalized.SequenceEqual(n)) return true;
        }
        return false;
    }

    /// <summary>
    /// Cheap test before parsing: some quote is followed by one of the names up to the next quote (read as written,
    /// separators and case folded), or the text holds an escape that could spell one. Every string and member name is
    /// looked at, so no match means no member can carry a name. One pass with <see cref="Base64Payloads.MightHold"/>'s test:
    /// <see cref="MemberPreTest"/>.
    /// </summary>
    public bool MightHold(ReadOnlySpan<byte> json)
    {
        if (_names.Length == 0) return false;
        MemberPreTest.Run(json, this, out _, out bool members);
        return members;
    }

    /// <summary>Whether a member name may start with <paramref name="b"/> as written (any case of a name's first letter, or a separator).</summary>
    internal bool CanStart(byte b) => _firstBytes[b];

    /// <summary>Whether some name is <paramref name="length"/> bytes long once normalized.</summary>
    internal bool HasLength(int length) => (uint)(length - 1) < MaxNameLength && (_lengths >> (length - 1) & 1) != 0;

    /// <summary>Lower-cases ASCII letters and drops '_' and '-'; -1 for a name that is not ASCII or normalizes longer than the bound.</summary>
    private static int Normalize(ReadOnlySpan<byte> name, Span<byte> destination)
    {
        int length = 0;
        foreach (byte b in name)
        {
            if (b is (byte)'_' or (byte)'-') continue;
            if (b >= 0x80 || length == destination.Length) return -1;
            destination[length++] = b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;
        }
        return length;
    }
}
