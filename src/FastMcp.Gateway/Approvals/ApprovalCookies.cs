using System.Security.Cryptography;
using System.Text;

namespace FastMcp.Gateway.Approvals;

/// <summary>
/// The digest's cookies line (docs/approvals.md): the cookies the upstream gets under forwardCookies, each as its name
/// and a keyed MAC of its value. The upstream acts on them (a session, a tenant, an environment), so a grant must bind
/// them; their values are often credentials, so nobody who sees the line (approvers, the audit log) learns a value.
/// <list type="bullet">
/// <item>Every Cookie field is split at ';' into pairs (several Cookie fields are one list, as RFC 9113 8.2.3 joins
/// them); spaces and tabs around a pair are dropped, empty pairs skipped; the name is the text before the first '=',
/// the value everything after it, as sent (card numbers masked). Names are case-sensitive and kept as sent.</item>
/// <item>A pair is written <c>name=MAC</c>: the name percent-encoded (<c>%</c>, <c>,</c>, <c>:</c>, controls,
/// DEL and non-ASCII bytes as %XX), MAC = hex HMAC-SHA-256 of the value under <see cref="Key"/>. A pair without '='
/// (some stacks read it as a nameless cookie, others as a name) is written as the MAC of its text alone.</item>
/// <item>A Cookie2 field's pairs get the prefix <c>cookie2:</c>: an upstream that reads only Cookie must not see a
/// Cookie2 pair as one of its cookies.</item>
/// <item>Entries sorted by what precedes the MAC (ordinal); entries with the same name keep the order sent, since
/// upstreams read the first (or the last) of duplicate names; joined with ','.</item>
/// </list>
/// Not on the hot path: only calls a require_approval rule matched get here.
/// </summary>
internal static class ApprovalCookies
{
    private const string Cookie2Prefix = "cookie2:";
    private const string Unnamed = "(unnamed)";

    // Stands in for the card fingerprint key when none is in force (masking disabled): MACs then mean something only
    // inside this process, which is as long as a grant lives anyway.
    private static readonly byte[] ProcessKey = RandomNumberGenerator.GetBytes(32);

    /// <summary>The MAC key: HMAC-SHA-256(card fingerprint key, "fastmcp approval cookie v1"), so a cookie MAC never equals a card fingerprint.</summary>
    public static byte[] Key(byte[]? cardFingerprintKey) => DerivedKey(cardFingerprintKey, "fastmcp approval cookie v1"u8);

    /// <summary>A MAC key for <paramref name="label"/>'s use, derived from the card fingerprint key (or this process's own without one).</summary>
    public static byte[] DerivedKey(byte[]? cardFingerprintKey, ReadOnlySpan<byte> label) =>
        HMACSHA256.HashData(cardFingerprintKey is { Length: > 0 } key ? key : ProcessKey, label);

    /// <summary>The line for the forwarded cookie fields, in the order sent (Cookie2: a Cookie2 field); "" without any pair.</summary>
    public static string Line(IReadOnlyList<(bool Cookie2, byte[] Value)> fields, byte[] key)
    {
        var line = new Forwarding.ForwardedFieldLine();
        foreach ((bool cookie2, byte[] value) in fields) line.AddCookieField(cookie2, value);
        var text = new System.Buffers.ArrayBufferWriter<byte>(Math.Max(1, line.Length));
        line.Write(text, key);
        return Encoding.ASCII.GetString(text.WrittenSpan);
    }

    /// <summary>
    /// What approvers are shown of a cookies line: the names alone, in its order ("cookie2:" kept, "(unnamed)" for a
    /// pair without '=' or with an empty name), comma-separated; "" without cookies. Never a value, nor a MAC.
    /// </summary>
    public static string Names(string line)
    {
        if (line.Length == 0) return "";
        var names = new StringBuilder();
        foreach (string entry in line.Split(','))
        {
            if (names.Length > 0) names.Append(',');
            int equals = entry.IndexOf('=');
            string name = equals >= 0 ? entry[..equals] : entry[..^64];
            names.Append(name);
            if (name.Length == 0 || name == Cookie2Prefix) names.Append(Unnamed);
        }
        return names.ToString();
    }
}
