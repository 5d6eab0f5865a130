using FastMcp.Audit.Crypto;

namespace FastMcp.Audit.Tests;

/// <summary>A temp folder with a fresh signing key pair; deleted on Dispose.</summary>
public sealed class TempAuditDirectory : IDisposable
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "fastmcp-audit-" + Guid.NewGuid().ToString("N"));
    public string PrivateKey => Path.Combine(Root, "audit-key.pem");
    public string PublicKey => Path.Combine(Root, "audit-key.pub.pem");
    public string Segments => Path.Combine(Root, "segments");
    public string ChainDir(string chain = "gw-1") => Path.Combine(Segments, chain);

    public TempAuditDirectory()
    {
        Directory.CreateDirectory(Root);
        AuditKeys.Generate(PrivateKey, PublicKey);
    }

    public AuditOptions Options(string chain = "gw-1", AuditDurability durability = AuditDurability.Strict) => new()
    {
        Directory = Segments,
        ChainId = chain,
        SigningKeyPath = PrivateKey,
        Durability = durability,
        MaxSegmentBytes = 64 * 1024 * 1024,
        MaxSegmentAge = TimeSpan.FromHours(1),
        CheckpointInterval = TimeSpan.FromHours(1),
        BatchedFlushInterval = TimeSpan.FromMilliseconds(20),
        OutageRetryInterval = TimeSpan.FromMilliseconds(20),
    };

    public AuditPublicKey LoadPublicKey() => AuditPublicKey.FromPemFile(PublicKey);

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
