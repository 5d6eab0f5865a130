using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;

namespace FastMcp.Audit.Verification;

/// <summary>
/// The checks every signed note (checkpoint, seal) gets: its key id is the one expected where it
/// stands, that key is trusted, the signature verifies with it, and from version 2 on the signature
/// is in low-s form (the next segment hashes the seal's bytes, so only one form is valid).
/// </summary>
public static class NoteSignatures
{
    /// <summary>
    /// Null when the note is acceptable; else (code, message). <paramref name="expectedKeyId"/> is
    /// the key id the note must name (its segment header's), or null for a standalone note.
    /// <paramref name="what"/> names the note in messages; <paramref name="codePrefix"/> is
    /// "seal", "checkpoint" or "kept-checkpoint".
    /// </summary>
    public static (string Code, string Message)? Check(TrustedKeys keys, AuditNote note, string keyId, string? expectedKeyId, string codePrefix, string what)
    {
        if (expectedKeyId is not null && keyId != expectedKeyId)
            return ("key-mismatch", $"{what} names key {keyId}, its segment header names {expectedKeyId}");
        var key = keys.Find(keyId);
        if (key is null)
            return (codePrefix == "kept-checkpoint" ? codePrefix : "untrusted-key", $"{what} is signed by key {keyId}, which is not a trusted key (trusted: {keys.Describe()})");
        if (!key.Verify(note.SignedBytes, note.Signature))
            return (codePrefix == "kept-checkpoint" ? codePrefix : codePrefix + "-signature", $"{what}: signature invalid (forged or signed by another key)");
        if (note.Version >= 2 && !EcdsaLowS.IsLowS(note.Signature))
            return ("high-s", $"{what}: signature is not in low-s form, which version {note.Version} requires (someone re-encoded it: s was replaced by n - s)");
        return null;
    }
}
