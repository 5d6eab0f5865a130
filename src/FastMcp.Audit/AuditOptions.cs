namespace FastMcp.Audit;

/// <summary>Audit log settings; a plain settable class so the gateway's source-generated JSON config can bind it.</summary>
public sealed class AuditOptions
{
    /// <summary>Root folder; each chain writes into the sub-folder named after <see cref="ChainId"/>.</summary>
    public string Directory { get; set; } = "audit";
    /// <summary>Name of this instance's chain (one chain per gateway replica).</summary>
    public string ChainId { get; set; } = "fastmcp";
    /// <summary>PEM ECDSA P-256 private key (PKCS#8) that signs seals and checkpoints.</summary>
    public string SigningKeyPath { get; set; } = "";
    /// <summary>
    /// Public keys (PEM files, or folders of *.pem) that signed this chain before a signing-key rotation. Notes
    /// naming one of them are verified with it and relied on at start; a note naming any other key is not.
    /// </summary>
    public string[] PreviousPublicKeys { get; set; } = [];
    public AuditDurability Durability { get; set; } = AuditDurability.Strict;
    /// <summary>A segment is sealed once its file reaches this size.</summary>
    public int MaxSegmentBytes { get; set; } = 64 * 1024 * 1024;
    /// <summary>A segment is sealed once it is this old, so segments ship promptly even at low traffic.</summary>
    public TimeSpan MaxSegmentAge { get; set; } = TimeSpan.FromMinutes(15);
    /// <summary>A signed checkpoint is written at least this often, even when idle.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>Batched mode only: the longest a queued record waits before it is written and fsynced (the loss window).</summary>
    public TimeSpan BatchedFlushInterval { get; set; } = TimeSpan.FromMilliseconds(200);
    /// <summary>
    /// Batched mode only: the writer flushes as soon as this many bytes of records are queued (or at the interval).
    /// Smaller: shorter flush bursts (less tail latency on a small machine), more fdatasyncs and CPU per record.
    /// </summary>
    public int BatchedFlushBytes { get; set; } = 64 * 1024;
    /// <summary>
    /// Batched mode only: the most bytes of records answered and not yet durable (queued, or being written and
    /// flushed). Past it an append waits for the writer (<see cref="BatchedMaxPendingWait"/>), then is refused like an
    /// outage (the caller answers 503), so a writer that falls behind bounds memory and the loss on a crash instead
    /// of growing both without limit. Sized so that normal bursts never reach it (256 flushes of the default size).
    /// </summary>
    public int BatchedMaxPendingBytes { get; set; } = 16 * 1024 * 1024;
    /// <summary>Batched mode only: how long an append waits for room under <see cref="BatchedMaxPendingBytes"/> before it is refused; zero refuses at once.</summary>
    public TimeSpan BatchedMaxPendingWait { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>How often the writer retries after an I/O failure (fail closed until it succeeds).</summary>
    public TimeSpan OutageRetryInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>zstd level for record frames (1 = fastest).</summary>
    public int CompressionLevel { get; set; } = 1;
    /// <summary>Where sealed segments go; null keeps them in <see cref="Directory"/> only.</summary>
    public ShippingOptions? Shipping { get; set; }
    /// <summary>
    /// Header fields (names, any letter case) an upstream's forwardHeaders passes whose values records hold as keyed MACs
    /// instead of text (component.headers): a field that is itself a credential, a per-user key for the upstream.
    /// </summary>
    public List<string> RedactHeaders { get; set; } = [];
    /// <summary>Checkpoints published outside the host (store, witness) and the start-up comparison with them.</summary>
    public AnchorOptions Anchoring { get; set; } = new();
    /// <summary>Live export of durable records to a SIEM endpoint; null: none.</summary>
    public AuditExportOptions? Export { get; set; }

    /// <summary>Told once when the log becomes unwritable (an outage starts) and once when it recovers; never per refused append.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Action<string>? OnProblem { get; set; }

    /// <summary>
    /// Masks card numbers in every record's fields (set by the host from its masking settings, never from the
    /// file); null keeps the first 6 and last 4 digits.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public FastMcp.Pan.PanMasker? FieldMasker { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory)) throw new ArgumentException("Audit.Directory must be set.", nameof(Directory));
        if (!ChainIdRules.IsValid(ChainId)) throw new ArgumentException("Audit.ChainId must be 1-64 characters of [A-Za-z0-9._-].", nameof(ChainId));
        if (string.IsNullOrWhiteSpace(SigningKeyPath)) throw new ArgumentException("Audit.SigningKeyPath must be set.", nameof(SigningKeyPath));
        foreach (string? key in PreviousPublicKeys ??= [])
        {
            if (string.IsNullOrWhiteSpace(key)) throw new ArgumentException("Audit.PreviousPublicKeys must not hold an empty path.", nameof(PreviousPublicKeys));
        }
        if (MaxSegmentBytes < 4096) throw new ArgumentException("Audit.MaxSegmentBytes must be at least 4096.", nameof(MaxSegmentBytes));
        if (MaxSegmentAge <= TimeSpan.Zero) throw new ArgumentException("Audit.MaxSegmentAge must be positive.", nameof(MaxSegmentAge));
        if (CheckpointInterval <= TimeSpan.Zero) throw new ArgumentException("Audit.CheckpointInterval must be positive.", nameof(CheckpointInterval));
        if (BatchedFlushInterval <= TimeSpan.Zero) throw new ArgumentException("Audit.BatchedFlushInterval must be positive.", nameof(BatchedFlushInterval));
        if (BatchedFlushBytes is < 4096 or > 64 * 1024 * 1024) throw new ArgumentException("Audit.BatchedFlushBytes must be 4096-67108864.", nameof(BatchedFlushBytes));
        if (BatchedMaxPendingBytes is < 4096 or > 1024 * 1024 * 1024)
            throw new ArgumentException("Audit.BatchedMaxPendingBytes must be 4096-1073741824.", nameof(BatchedMaxPendingBytes));
        // The queue must hold at least one flush, or the bound would stop appends before the writer is woken by size.
        if (Durability == AuditDurability.Batched && BatchedMaxPendingBytes < BatchedFlushBytes)
            throw new ArgumentException($"Audit.BatchedMaxPendingBytes ({BatchedMaxPendingBytes}) must be at least Audit.BatchedFlushBytes ({BatchedFlushBytes}) in Batched durability.", nameof(BatchedMaxPendingBytes));
        if (BatchedMaxPendingWait < TimeSpan.Zero || BatchedMaxPendingWait > TimeSpan.FromMinutes(1))
            throw new ArgumentException("Audit.BatchedMaxPendingWait must be 00:00:00 to 00:01:00.", nameof(BatchedMaxPendingWait));
        if (OutageRetryInterval <= TimeSpan.Zero) throw new ArgumentException("Audit.OutageRetryInterval must be positive.", nameof(OutageRetryInterval));
        if (CompressionLevel is < 1 or > 19) throw new ArgumentException("Audit.CompressionLevel must be 1-19.", nameof(CompressionLevel));
        foreach (string? name in RedactHeaders ??= [])
        {
            // Exact names only: a pattern that matched nothing would leave a credential in clear without a word.
            if (!IsFieldName(name)) throw new ArgumentException($"Audit.RedactHeaders must hold header field names (letters, digits and !#$%&'+-.^_`|~, no '*'); '{name}' is not one.", nameof(RedactHeaders));
        }
        Shipping?.Validate();
        Export?.Validate();
        (Anchoring ??= new AnchorOptions()).Validate();
    }

    private static bool IsFieldName(string? s)
    {
        if (string.IsNullOrEmpty(s)) return false;
        foreach (char c in s)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~')) return false;
        }
        return true;
    }
}

/// <summary>Chain ids become folder and object-key names, so they are restricted to a safe alphabet.</summary>
public static class ChainIdRules
{
    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 64 || id is "." or "..") return false;
        foreach (char c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')) return false;
        }
        return true;
    }
}
