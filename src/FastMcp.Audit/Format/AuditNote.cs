using System.Text;

namespace FastMcp.Audit.Format;

/// <summary>
/// The text payload of header, checkpoint and seal frames: a type line, then "key: value" lines in a
/// fixed order, each ending in '\n'; signed notes end with "signature: base64(r||s)\n" and the signed
/// message is every byte before that line. See docs/audit-format.md §4.
/// </summary>
public sealed class AuditNote
{
    public const string SignaturePrefix = "signature: ";

    public string Type { get; }
    public string[] Keys { get; }
    public string[] Values { get; }
    /// <summary>The note's bytes up to (not including) the signature line: what the signature covers.</summary>
    public byte[] SignedBytes { get; }
    public byte[]? Signature { get; }

    private AuditNote(string type, string[] keys, string[] values, byte[] signedBytes, byte[]? signature)
    {
        Type = type; Keys = keys; Values = values; SignedBytes = signedBytes; Signature = signature;
    }

    public string this[string key]
    {
        get
        {
            int i = Array.IndexOf(Keys, key);
            if (i < 0) throw new KeyNotFoundException(key);
            return Values[i];
        }
    }

    /// <summary>Builds the unsigned part of a note.</summary>
    public static byte[] Compose(string type, ReadOnlySpan<(string Key, string Value)> fields)
    {
        var sb = new StringBuilder(256);
        sb.Append(type).Append('\n');
        foreach (var (k, v) in fields)
        {
            if (v.Contains('\n')) throw new ArgumentException($"note value for {k} contains a newline");
            sb.Append(k).Append(": ").Append(v).Append('\n');
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Appends the signature line to a composed note.</summary>
    public static byte[] AppendSignature(byte[] signedBytes, ReadOnlySpan<byte> signature)
    {
        string line = SignaturePrefix + Convert.ToBase64String(signature) + "\n";
        var result = new byte[signedBytes.Length + Encoding.ASCII.GetByteCount(line)];
        signedBytes.CopyTo(result, 0);
        Encoding.ASCII.GetBytes(line, result.AsSpan(signedBytes.Length));
        return result;
    }

    /// <summary>The version a type line ends with ("... v2" is 2); 0 when it names none.</summary>
    public int Version => Type.Length > 2 && Type[^2] == 'v' && char.IsAsciiDigit(Type[^1]) ? Type[^1] - '0' : 0;

    /// <summary>Strict parse: exact type line, exactly the expected keys in order, signature line iff signed.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, string expectedType, string[] expectedKeys, bool signed, out AuditNote? note, out string? error) =>
        TryParse(data, [expectedType], expectedKeys, signed, out note, out error);

    /// <summary>As above, with one of several type lines (the versions a reader knows).</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, string[] expectedTypes, string[] expectedKeys, bool signed, out AuditNote? note, out string? error)
    {
        note = null;
        string text;
        try { text = new UTF8Encoding(false, true).GetString(data); }
        catch (DecoderFallbackException) { error = "note is not valid UTF-8"; return false; }
        if (text.Length == 0 || text[^1] != '\n') { error = "note does not end with a newline"; return false; }
        var lines = text[..^1].Split('\n');
        int expectedLines = 1 + expectedKeys.Length + (signed ? 1 : 0);
        if (lines.Length != expectedLines) { error = $"note has {lines.Length} lines, expected {expectedLines}"; return false; }
        if (Array.IndexOf(expectedTypes, lines[0]) < 0) { error = $"note type is '{lines[0]}', expected '{string.Join("' or '", expectedTypes)}'"; return false; }
        var values = new string[expectedKeys.Length];
        for (int i = 0; i < expectedKeys.Length; i++)
        {
            string prefix = expectedKeys[i] + ": ";
            if (!lines[i + 1].StartsWith(prefix, StringComparison.Ordinal)) { error = $"note line {i + 2} should be '{expectedKeys[i]}'"; return false; }
            values[i] = lines[i + 1][prefix.Length..];
        }
        byte[]? signature = null;
        int signedLength = data.Length;
        if (signed)
        {
            string last = lines[^1];
            if (!last.StartsWith(SignaturePrefix, StringComparison.Ordinal)) { error = "note has no signature line"; return false; }
            try { signature = Convert.FromBase64String(last[SignaturePrefix.Length..]); }
            catch (FormatException) { error = "note signature is not base64"; return false; }
            if (Convert.ToBase64String(signature) != last[SignaturePrefix.Length..]) { error = "note signature is not canonical base64"; return false; }
            signedLength = data.Length - Encoding.ASCII.GetByteCount(last) - 1;
        }
        note = new AuditNote(lines[0], expectedKeys, values, data[..signedLength].ToArray(), signature);
        error = null;
        return true;
    }
}
