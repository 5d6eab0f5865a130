using System.Security.Cryptography;
using System.Text;
using FastMcp.Audit.Storage;

namespace FastMcp.Gateway.Approvals;

/// <summary>
/// What loading approvals.stateFile found: the approvals (none when refused), why it was refused and where it was set
/// aside, and for a file that verified the generation it was written as and the audit chain it was written for.
/// </summary>
internal sealed record ApprovalStateLoad(List<PendingApproval> Approvals, string? Refusal, string? KeptAs, long Generation = 0, string? Chain = null, bool BeforeGenerations = false)
{
    /// <summary>A file verified (its MAC and body): the generation check against the audit chain comes next.</summary>
    public bool Verified => Refusal is null && Chain is not null;

    /// <summary>A file that verified and was written before generations existed (docs/approvals.md, "Upgrading").</summary>
    public bool Legacy => Refusal is null && BeforeGenerations;
}

/// <summary>One snapshot of the state about to be written: the body, and what it holds (for the record that precedes it).</summary>
internal readonly record struct ApprovalStateSnapshot(byte[] Body, int Pending, int Grants);

/// <summary>
/// approvals.stateFile on disk: the grant-mode approvals and open grants, sealed with HMAC-SHA-256 under
/// K = HMAC-SHA-256(card fingerprint key, "fastmcp approval state v1") so that whoever can write the file but lacks the
/// key cannot forge or stretch a grant. Written whole each time (new file, fsync, rename, fsync of the directory): a
/// crash leaves the old file or the new one, and a torn one fails its MAC and restores nothing.
/// </summary>
internal sealed class ApprovalStateFile
{
    /// <summary>The first line of the file; also the start of the MACed text, so a MAC is bound to this format.</summary>
    private static ReadOnlySpan<byte> Magic => "fastmcp-approval-state-v1\n"u8;
    private static ReadOnlySpan<byte> MacPrefix => "mac:"u8;

    /// <summary>
    /// Largest file written or read. Pending approvals are bounded by approvals.maxPending and each by the request size;
    /// beyond this a new approval is refused rather than the file grown without end.
    /// </summary>
    public const int MaxBytes = 64 * 1024 * 1024;

    private readonly byte[] _key;
    private readonly SemaphoreSlim _writing = new(1, 1);
    private long _requested, _written;
    // The newest generation bound into the audit chain, and the newest one on disk: the first is ahead of the second only
    // while a write is under way, or after one whose record was made but whose file could not be written.
    private long _anchored, _onDisk;

    public ApprovalStateFile(string path, byte[] cardFingerprintKey)
    {
        Path = System.IO.Path.GetFullPath(path);
        _key = HMACSHA256.HashData(cardFingerprintKey, "fastmcp approval state v1"u8);
    }

    public string Path { get; }

    /// <summary>Writes failed (fastmcp_approval_state_write_failures_total).</summary>
    public long WriteFailures => Volatile.Read(ref _writeFailures);
    private long _writeFailures;

    /// <summary>The newest generation recorded in the audit chain (0 before the first write of this process).</summary>
    public long AnchoredGeneration => Volatile.Read(ref _anchored);

    /// <summary>
    /// True when the file on disk is older than a generation the chain recorded (a write whose record was made failed): a
    /// start refuses that file, so whatever the write would have taken out of it cannot come back.
    /// </summary>
    public bool DiskBehindChain => Volatile.Read(ref _anchored) > Volatile.Read(ref _onDisk);

    /// <summary>At start: the next write's generation follows <paramref name="generation"/> (the newest the file or the chain knows).</summary>
    public void ContinueFrom(long generation)
    {
        Volatile.Write(ref _anchored, generation);
        Volatile.Write(ref _onDisk, generation);
    }

    /// <summary>
    /// Writes a snapshot taken after this call began (<paramref name="snapshot"/> is called for it with the write's
    /// generation); calls that arrive while a write runs share the next one. <paramref name="anchor"/> records that
    /// generation in the audit chain before the file is written, so no file is ever newer than its record in a chain written
    /// in order; it throws <see cref="IOException"/> when it cannot, and the file is then not written. Throws
    /// <see cref="IOException"/> when the file could not be written.
    /// </summary>
    public async Task SaveAsync(Func<long, ApprovalStateSnapshot> snapshot, Func<long, ApprovalStateSnapshot, ValueTask> anchor)
    {
        long mine = Interlocked.Increment(ref _requested);
        await _writing.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _written) >= mine) return;
            // Every change requested up to here is visible in the snapshot taken below.
            long covering = Volatile.Read(ref _requested);
            long generation = Volatile.Read(ref _anchored) + 1;
            try
            {
                ApprovalStateSnapshot taken = snapshot(generation);
                byte[] sealedBytes = Seal(taken.Body);
                await anchor(generation, taken).ConfigureAwait(false);
                // From here the chain says this generation was written: an older file on disk is refused at start.
                Volatile.Write(ref _anchored, generation);
                // fsync blocks: on a pool thread of its own, never on the connection's.
                await Task.Run(() => WriteAtomically(sealedBytes)).ConfigureAwait(false);
                Volatile.Write(ref _onDisk, generation);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Interlocked.Increment(ref _writeFailures);
                throw new IOException($"cannot write approvals.stateFile '{Path}': {FastMcp.Http.PlainError.Describe(e, Path)}", e);
            }
            Volatile.Write(ref _written, covering);
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>
    /// Removes the file (the directory fsynced), after a write failed that had to drop a grant from it: a start then finds
    /// nothing to restore rather than the grant. False when it could not be removed either. The next successful write puts
    /// the whole state back.
    /// </summary>
    public async Task<bool> TryRemoveAsync()
    {
        await _writing.WaitAsync().ConfigureAwait(false);
        try
        {
            await Task.Run(() =>
            {
                File.Delete(Path);
                DirectorySync.Flush(System.IO.Path.GetDirectoryName(Path) ?? ".");
            }).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        finally
        {
            _writing.Release();
        }
    }

    private byte[] Seal(byte[] body)
    {
        if (body.Length > MaxBytes - 128) throw new IOException($"the approval state would exceed {MaxBytes} bytes");
        byte[] mac = Mac(body);
        var file = new byte[Magic.Length + MacPrefix.Length + 64 + 1 + body.Length];
        Span<byte> at = file;
        Magic.CopyTo(at);
        at = at[Magic.Length..];
        MacPrefix.CopyTo(at);
        at = at[MacPrefix.Length..];
        Encoding.ASCII.GetBytes(Convert.ToHexStringLower(mac), at);
        at[64] = (byte)'\n';
        body.CopyTo(at[65..]);
        return file;
    }

    private byte[] Mac(ReadOnlySpan<byte> body)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        hmac.AppendData(Magic);
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }

    private void WriteAtomically(byte[] bytes)
    {
        string temporary = Path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        // Open approvals name callers and what they asked: readable by the gateway's user only.
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, Path, overwrite: true);
        DirectorySync.Flush(System.IO.Path.GetDirectoryName(Path) ?? ".");
    }

    /// <summary>
    /// The approvals in the file, or none with the reason when the file does not verify (then it is renamed aside as
    /// evidence, so the next write does not overwrite it). A missing file is an empty state.
    /// </summary>
    public ApprovalStateLoad Load()
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(Path);
            if (!info.Exists) return new ApprovalStateLoad([], null, null);
            if (info.Length > MaxBytes) return Refuse($"larger than {MaxBytes} bytes");
            bytes = File.ReadAllBytes(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot read approvals.stateFile '{Path}': {FastMcp.Http.PlainError.Describe(e, Path)}", e);
        }
        ReadOnlySpan<byte> rest = bytes;
        if (!rest.StartsWith(Magic)) return Refuse("not a FastMcp approval state file (first line)");
        rest = rest[Magic.Length..];
        if (rest.Length < MacPrefix.Length + 65 || !rest.StartsWith(MacPrefix) || rest[MacPrefix.Length + 64] != (byte)'\n')
            return Refuse("no MAC line");
        Span<byte> claimed = stackalloc byte[32];
        if (Convert.FromHexString(Encoding.ASCII.GetString(rest.Slice(MacPrefix.Length, 64)), claimed, out _, out int written) != System.Buffers.OperationStatus.Done || written != 32)
            return Refuse("the MAC is not 64 hex digits");
        int bodyStart = Magic.Length + MacPrefix.Length + 65;
        if (!CryptographicOperations.FixedTimeEquals(claimed, Mac(bytes.AsSpan(bodyStart))))
            return Refuse("the MAC does not match (changed, torn, or written under another card fingerprint key)");
        try
        {
            ApprovalStateBody body = ApprovalStateJson.Read(bytes.AsMemory(bodyStart));
            return new ApprovalStateLoad(body.Approvals, null, null, body.Generation, body.Chain, body.BeforeGenerations);
        }
        catch (FormatException e)
        {
            return Refuse($"verified, but cannot be read: {FastMcp.Http.PlainError.Describe(e, Path)}");
        }
    }

    /// <summary>Refuses a file that verified but that the audit chain does not vouch for (older than it, or another chain's): set aside as evidence.</summary>
    public ApprovalStateLoad Refuse(ApprovalStateLoad verified, string why) => Refuse(why) with { Generation = verified.Generation };

    private ApprovalStateLoad Refuse(string why)
    {
        string aside = $"{Path}.refused-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}";
        try
        {
            File.Move(Path, aside, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"approvals.stateFile '{Path}' does not verify ({why}) and cannot be moved aside: {FastMcp.Http.PlainError.Describe(e)}", e);
        }
        return new ApprovalStateLoad([], why, aside);
    }
}
