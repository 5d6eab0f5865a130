using System.Security.Cryptography;

namespace FastMcp.Gateway.Hosting;

/// <summary>
/// Loads OpenSSL (libssl, libcrypto, openssl.cnf) on a thread of its own while serve parses its configuration. A start
/// with the stages first needs it for the masking key or the audit signing key, after the configuration; loading it then
/// was a fifth of a full start's page faults, on the start's one thread. It decides and records nothing: the stages are
/// built, checked and refused on the start's thread as before, and only wait for it when they reach OpenSSL.
/// </summary>
internal static class CryptoWarmUp
{
    /// <summary>
    /// Starts the load unless <paramref name="args"/> ask for pass-through (no crypto before accept there); the thread
    /// ends when it is done. Null when not started.
    /// </summary>
    public static Thread? Start(string[] args)
    {
        if (Array.IndexOf(args, "--passthrough") >= 0) return null;
        // Not a pool thread: it starts before the scheduling policy is read (threads.scheduling), and ends here.
        var thread = new Thread(Load, maxStackSize: 256 * 1024) { IsBackground = true, Name = "fastmcp-crypto-init" };
        thread.UnsafeStart();
        return thread;
    }

    private static void Load()
    {
        try
        {
            // The first call into the OpenSSL shim runs its initialisation (the library load and configuration), once
            // per process: a stage that gets there first waits for this one instead of loading it again.
            Span<byte> one = stackalloc byte[1];
            RandomNumberGenerator.Fill(one);
        }
        catch (Exception)
        {
            // Left to the stage that needs it: it fails there, with the error it always gave, and refuses the start.
        }
    }
}
