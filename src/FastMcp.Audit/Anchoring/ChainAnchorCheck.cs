using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Shipping;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Anchoring;

/// <summary>
/// Start-up comparison of the local chain with the newest checkpoint published in the store:
/// a chain that is behind it is refused (<see cref="ChainBehindAnchorException"/>). When the store
/// cannot be read, or the newest published checkpoint is signed by a key that is neither the signing
/// key nor a configured previous one, the comparison is skipped and reported to <see cref="AnchorOptions.OnProblem"/>: the start is
/// not blocked by an outage of the store, and a rolled-back chain then shows up as publish
/// conflicts and in verification.
/// </summary>
public static class ChainAnchorCheck
{
    public static async Task EnsureNotBehindAsync(AuditOptions options, IAuditFileSystem fs, CancellationToken ct)
    {
        using var signer = AuditSigner.FromPemFile(options.SigningKeyPath);
        await EnsureNotBehindAsync(options, fs, signer.PublicKey, ct).ConfigureAwait(false);
    }

    /// <summary>The same with the signing key's public half already loaded (the log's start reads the key file once).</summary>
    public static async Task EnsureNotBehindAsync(AuditOptions options, IAuditFileSystem fs, AuditPublicKey signingKey, CancellationToken ct)
    {
        var anchoring = options.Anchoring;
        if (!anchoring.CheckOnStart || !anchoring.PublishToStore || options.Shipping is null) return;
        string chainDir = Path.Combine(options.Directory, options.ChainId);

        Checkpoint? published;
        string? describe;
        byte[]? note;
        using (var store = SegmentStores.Create(options.Shipping))
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(anchoring.Timeout);
                (note, describe) = await ReadNewestAsync(store, options.ChainId, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException && !ct.IsCancellationRequested)
            {
                Report(anchoring, $"audit anchor: cannot read the published checkpoints of chain '{options.ChainId}' ({StoreProblem.Describe(e)}); the local chain was not compared with them");
                return;
            }
        }
        if (note is null) return;
        if (!Checkpoint.TryDecode(note, out published, out var parsed, out var error) || published!.Chain != options.ChainId)
            throw new ChainBehindAnchorException($"the newest published checkpoint {describe} is not a checkpoint of chain '{options.ChainId}' ({error ?? "chain " + published!.Chain}); refusing to continue the chain until it is examined");

        using var keys = ChainKeys.Load(signingKey, options.PreviousPublicKeys);
        switch (keys.Check(published.KeyId, parsed!))
        {
            case NoteTrust.UnknownKey:
                Report(anchoring, $"audit anchor: the newest published checkpoint {describe} is signed by key {published.KeyId}, which is neither the current key {signingKey.KeyId} nor one of audit.previousPublicKeys (a key rotation?); the local chain was not compared with it");
                return;
            case NoteTrust.Forged:
                throw new ChainBehindAnchorException($"the newest published checkpoint {describe} does not verify with the audit signing key {published.KeyId} (forged, or re-encoded with a high-s signature): the store was tampered with; refusing to continue the chain until it is examined");
        }

        long local = LocalChainExtent.NextSequence(fs, chainDir, options.ChainId, keys);
        if (published.Sequence > local)
            throw new ChainBehindAnchorException(
                $"audit chain '{options.ChainId}' in {chainDir} ends at {local} records, but the checkpoint published outside this host at {describe} " +
                $"(signed {NoteValues.Time(published.TimeMicros)}) vouches for {published.Sequence} records: segments, the checkpoint file or last-seal were deleted " +
                "or the audit volume was replaced (only notes that verify with the signing key or a configured previous key count). Refusing to continue the chain, which would hide the loss. Restore the audit directory, or start this gateway with " +
                "a new chain id (audit.chainId / --chain-id) and keep the old chain for the auditors.");
    }

    /// <summary>The newest published checkpoint's bytes and where it is, or nulls when none was published.</summary>
    public static async Task<(byte[]? Note, string? Location)> ReadNewestAsync(ISegmentStore store, string chain, CancellationToken ct)
    {
        string folder = AnchorNames.FolderOf(chain);
        string? newest = null;
        foreach (string key in await store.ListAsync(folder, ct).ConfigureAwait(false))
        {
            string name = key[folder.Length..];
            if (name.Contains('/') || !AnchorNames.TryParse(name, out _)) continue;
            if (newest is null || string.CompareOrdinal(key, newest) > 0) newest = key;
        }
        if (newest is null) return (null, null);
        return (await store.GetAsync(newest, ct).ConfigureAwait(false), store.Describe(newest));
    }

    private static void Report(AnchorOptions options, string message)
    {
        try { options.OnProblem?.Invoke(message); }
        catch (Exception) { }
    }
}
