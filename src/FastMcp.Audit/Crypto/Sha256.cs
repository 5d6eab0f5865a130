using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace FastMcp.Audit.Crypto;

/// <summary>
/// SHA-256 for the many small inputs of the hash chain and Merkle tree (three per record). .NET's
/// SHA256.HashData goes through OpenSSL's EVP layer, which allocates and frees a context and
/// clears the error queue per call: ~500 ns before the first byte, against ~90 ns for a 65-byte
/// input through libcrypto's SHA256_Init/Update/Final (the same SHA-NI code underneath). Those are
/// used when libcrypto 3 can be loaded; otherwise the .NET API is, with identical results.
/// </summary>
public static unsafe class Sha256
{
    private const int ContextSize = 128; // sizeof(SHA256_CTX) is 112
    private static readonly delegate* unmanaged<byte*, int> Init;
    private static readonly delegate* unmanaged<byte*, byte*, nuint, int> Update;
    private static readonly delegate* unmanaged<byte*, byte*, int> Final;

    static Sha256()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("FASTMCP_SHA256_MANAGED") == "1") return;
        if (!NativeLibrary.TryLoad("libcrypto.so.3", out IntPtr lib)) return;
        if (NativeLibrary.TryGetExport(lib, "SHA256_Init", out IntPtr init)
            && NativeLibrary.TryGetExport(lib, "SHA256_Update", out IntPtr update)
            && NativeLibrary.TryGetExport(lib, "SHA256_Final", out IntPtr final))
        {
            Init = (delegate* unmanaged<byte*, int>)init;
            Update = (delegate* unmanaged<byte*, byte*, nuint, int>)update;
            Final = (delegate* unmanaged<byte*, byte*, int>)final;
        }
    }

    [ThreadStatic] private static IncrementalHash? t_platform;

    private static IncrementalHash Platform => t_platform ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>True when libcrypto's direct SHA-256 functions are in use.</summary>
    public static bool IsNative => Init != null;

    /// <summary>SHA-256(<paramref name="data"/>).</summary>
    public static void Hash(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (!IsNative)
        {
            SHA256.HashData(data, destination);
            return;
        }
        byte* context = stackalloc byte[ContextSize];
        Init(context);
        Append(context, data);
        Finish(context, destination);
    }

    /// <summary>SHA-256(<paramref name="prefix"/> || <paramref name="first"/> || <paramref name="second"/>), without concatenating.</summary>
    public static void Hash(byte prefix, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, Span<byte> destination)
    {
        if (!IsNative)
        {
            IncrementalHash h = Platform;
            h.AppendData([prefix]);
            h.AppendData(first);
            h.AppendData(second);
            h.GetHashAndReset(destination);
            return;
        }
        byte* context = stackalloc byte[ContextSize];
        Init(context);
        Update(context, &prefix, 1);
        Append(context, first);
        Append(context, second);
        Finish(context, destination);
    }

    /// <summary>SHA-256(<paramref name="first"/> || <paramref name="second"/>).</summary>
    public static void Hash(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, Span<byte> destination)
    {
        if (!IsNative)
        {
            IncrementalHash h = Platform;
            h.AppendData(first);
            h.AppendData(second);
            h.GetHashAndReset(destination);
            return;
        }
        byte* context = stackalloc byte[ContextSize];
        Init(context);
        Append(context, first);
        Append(context, second);
        Finish(context, destination);
    }

    private static void Append(byte* context, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        fixed (byte* p = data) Update(context, p, (nuint)data.Length);
    }

    private static void Finish(byte* context, Span<byte> destination)
    {
        if (destination.Length < 32) throw new ArgumentException("destination needs 32 bytes", nameof(destination));
        fixed (byte* d = destination) Final(d, context);
    }
}
