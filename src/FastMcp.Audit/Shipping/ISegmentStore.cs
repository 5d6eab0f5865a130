namespace FastMcp.Audit.Shipping;

/// <summary>Outcome of a create-only upload.</summary>
public enum PutResult
{
    /// <summary>The object did not exist and now holds our bytes.</summary>
    Created,
    /// <summary>The object already existed with the same SHA-256 (an earlier attempt succeeded).</summary>
    AlreadyIdentical,
    /// <summary>The object exists with different content: a fork or tampering, never overwritten.</summary>
    Conflict,
}

/// <summary>Object storage for sealed segments and checkpoints: a folder or an S3-compatible bucket.</summary>
public interface ISegmentStore : IDisposable
{
    /// <summary>A human-readable location, for reports.</summary>
    string Describe(string key);
    /// <summary>Create-only upload with a SHA-256 checksum; never overwrites.</summary>
    Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, byte[] sha256, CancellationToken ct);
    /// <summary>Upload that replaces (the rolling "checkpoint" object).</summary>
    Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct);
    /// <summary>The SHA-256 of a stored object as the store reports it, or null when absent.</summary>
    Task<byte[]?> GetSha256Async(string key, CancellationToken ct);
    /// <summary>The object's bytes, or null when absent.</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken ct);
    /// <summary>All keys under <paramref name="prefix"/>, relative to the store root.</summary>
    Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken ct);
}
