namespace FastMcp.Audit.Crypto;

/// <summary>
/// The seam for where the audit private key lives: a PEM file (<see cref="PemSigningKey"/>) or a
/// KMS, HSM or PKCS#11 token. An implementation only signs digests; <see cref="AuditSigner"/>
/// hashes the note, normalizes the signature to low-s and checks it against the public key.
/// </summary>
public interface IAuditSigningKey : IDisposable
{
    /// <summary>The DER SubjectPublicKeyInfo of the ECDSA P-256 public key (its SHA-256 is the key id).</summary>
    byte[] ExportSubjectPublicKeyInfo();

    /// <summary>Signs a 32-byte SHA-256 digest with ECDSA P-256; returns r || s (64 bytes, IEEE P1363), any s.</summary>
    byte[] SignHash(ReadOnlySpan<byte> sha256);
}
