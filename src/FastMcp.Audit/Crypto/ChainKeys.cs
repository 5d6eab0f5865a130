using FastMcp.Audit.Format;
using FastMcp.Audit.Verification;

namespace FastMcp.Audit.Crypto;

/// <summary>What checking a note's signature against the chain's keys found.</summary>
public enum NoteTrust
{
    /// <summary>Signed by the signing key or a configured previous key, in the form its version requires.</summary>
    Verified,
    /// <summary>Names one of the chain's keys, but the signature does not verify with it (or is not low-s).</summary>
    Forged,
    /// <summary>Names a key that is neither the signing key nor a configured previous key: it cannot be checked.</summary>
    UnknownKey,
}

/// <summary>
/// The keys a chain's own notes may be signed with, as the writer knows them at start: the public half
/// of its signing key and the public keys configured as previous ones (AuditOptions.PreviousPublicKeys,
/// after rotations). A note naming any other key id proves nothing: anyone can make a key pair and
/// write its id into a note, so such a note is never relied on.
/// </summary>
public sealed class ChainKeys : IDisposable
{
    private readonly AuditPublicKey _current;
    private readonly TrustedKeys _all;

    private ChainKeys(AuditPublicKey current, TrustedKeys all)
    {
        _current = current;
        _all = all;
    }

    public string CurrentKeyId => _current.KeyId;

    /// <summary>The signing key and the previous keys, for a full segment walk (SegmentWalk picks the one a header names).</summary>
    public TrustedKeys Trusted => _all;

    /// <summary>
    /// <paramref name="current"/> stays owned by the caller. The previous keys are loaded now, so a
    /// missing or unreadable one fails the start with the file named (IOException) instead of
    /// turning every note it signed into an unknown one.
    /// </summary>
    public static ChainKeys Load(AuditPublicKey current, IReadOnlyList<string>? previousPublicKeys)
    {
        ArgumentNullException.ThrowIfNull(current);
        var all = previousPublicKeys is { Count: > 0 } ? TrustedKeys.Load(previousPublicKeys) : TrustedKeys.Of();
        all.Include(current);
        return new ChainKeys(current, all);
    }

    public NoteTrust Check(string keyId, AuditNote note)
    {
        var key = _all.Find(keyId);
        if (key is null) return NoteTrust.UnknownKey;
        if (!key.Verify(note.SignedBytes, note.Signature)) return NoteTrust.Forged;
        // A high-s copy of a genuine v2 note was re-encoded by someone else; its bytes would break the next link.
        return note.Version >= 2 && !EcdsaLowS.IsLowS(note.Signature) ? NoteTrust.Forged : NoteTrust.Verified;
    }

    /// <summary>Message text for a note naming an unknown key.</summary>
    public static string Unknown(string keyId) =>
        $"is signed by key {keyId}, which is neither the signing key nor one of audit.previousPublicKeys, so it cannot be verified";

    public void Dispose() => _all.Dispose();
}
