namespace FastMcp.Audit.Storage;

/// <summary>
/// One writer per chain: an exclusive lock (flock, which .NET takes for FileShare.None) on <c>writer.lock</c> in
/// the chain folder, held for as long as the log is open. A second gateway on the same folder would otherwise
/// "recover" the first one's live <c>.open</c> segment and break the chain for good. The lock, not the file, is
/// what excludes: a crashed holder's lock is released by the kernel, so a restart is never blocked by a leftover.
/// </summary>
public sealed class ChainWriterLock : IDisposable
{
    public const string FileName = "writer.lock";

    private readonly FileStream _stream;

    private ChainWriterLock(FileStream stream) => _stream = stream;

    /// <summary>Takes the lock, or throws <see cref="AuditChainLockedException"/> naming the chain and its folder.</summary>
    public static ChainWriterLock Acquire(string chainDirectory, string chain)
    {
        string path = Path.Combine(chainDirectory, FileName);
        try
        {
            return new ChainWriterLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0));
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && File.Exists(path))
        {
            throw new AuditChainLockedException(
                $"audit chain '{chain}' in {chainDirectory} is locked by another running gateway ({path}): one writer per chain; "
                + "give each gateway its own audit.directory or chain id (serve --chain-id)");
        }
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>The chain folder is locked by another writer: the gateway refuses to start.</summary>
public sealed class AuditChainLockedException(string message) : IOException(message);
