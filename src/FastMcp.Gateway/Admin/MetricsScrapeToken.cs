using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Identity;

namespace FastMcp.Gateway.Admin;

/// <summary>
/// The static bearer secret /metrics requires once admin.metricsTokenFile or admin.metricsTokenEnv is set (Prometheus
/// sends it as <c>Authorization: Bearer …</c>). Only SHA-256 digests of the accepted tokens are held, and a presented
/// token is compared by its digest in constant time against every one, so neither its length nor its first differing
/// byte shows in the time an answer takes. A file may hold several tokens, one per line (a rotation admits the new one
/// before the old one leaves); it is re-read by content at most once a second when a scrape comes, as other secret
/// files are polled, and a new content that is not usable keeps the tokens in force (logged, never with a token).
/// </summary>
internal sealed class MetricsScrapeToken
{
    public const int MinLength = 16;
    public const int MaxLength = 4096;
    public const int MaxTokens = 8;
    private const long RecheckMs = 1_000;

    private static readonly SearchValues<byte> Token68 =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/="u8);

    private readonly string? _file;
    private readonly Lock _reload = new();
    private byte[][] _digests;
    private byte[] _lastRaw = [];
    private long _nextCheck;
    private bool _unreadable;

    private MetricsScrapeToken(string? file, byte[][] digests)
    {
        _file = file;
        _digests = digests;
        _nextCheck = Environment.TickCount64 + RecheckMs;
    }

    /// <summary>The configured scrape token, or null when /metrics is open; a source that gives no usable token stops the start, naming the field.</summary>
    public static MetricsScrapeToken? Load(AdminOptions options)
    {
        if (options.MetricsTokenFile is { } file)
        {
            byte[] raw;
            try
            {
                raw = File.ReadAllBytes(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigurationException("admin.metricsTokenFile", $"cannot read '{file}': {FastMcp.Http.PlainError.Describe(e, file)}");
            }
            if (!TryParse(raw, out byte[][] digests, out string? error)) throw new ConfigurationException("admin.metricsTokenFile", $"'{file}': {error}");
            return new MetricsScrapeToken(file, digests) { _lastRaw = raw };
        }
        if (options.MetricsTokenEnv is { } name)
        {
            string? value = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(value)) throw new ConfigurationException("admin.metricsTokenEnv", $"environment variable '{name}' is not set");
            byte[] raw = Encoding.UTF8.GetBytes(value);
            // One token: a variable does not change under a running process, so there is no rotation to overlap.
            if (raw.AsSpan().IndexOfAny((byte)'\r', (byte)'\n') >= 0)
                throw new ConfigurationException("admin.metricsTokenEnv", $"environment variable '{name}' holds more than one line");
            if (!TryParse(raw, out byte[][] digests, out string? error))
                throw new ConfigurationException("admin.metricsTokenEnv", $"environment variable '{name}': {error}");
            return new MetricsScrapeToken(null, digests);
        }
        return null;
    }

    /// <summary>True when <paramref name="authorization"/> (the Authorization field's value) is "Bearer" and an accepted token.</summary>
    public bool Admits(ReadOnlySpan<byte> authorization)
    {
        ReloadIfDue();
        if (BearerHeader.TryGetToken(authorization, out ReadOnlySpan<byte> token) != AuthFailure.None) return false;
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(token, presented);
        bool admitted = false;
        // Every digest is compared, an early match included: the time taken says nothing about which one, or how close.
        foreach (byte[] digest in Volatile.Read(ref _digests)) admitted |= CryptographicOperations.FixedTimeEquals(presented, digest);
        return admitted;
    }

    private void ReloadIfDue()
    {
        if (_file is null || Environment.TickCount64 < Volatile.Read(ref _nextCheck)) return;
        lock (_reload)
        {
            if (Environment.TickCount64 < _nextCheck) return;
            _nextCheck = Environment.TickCount64 + RecheckMs;
            byte[] raw;
            try
            {
                raw = File.ReadAllBytes(_file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Once until the file reads again: a scrape a second must not repeat it.
                if (!_unreadable) Log.Warn($"admin.metricsTokenFile: cannot read '{_file}' ({FastMcp.Http.PlainError.Describe(e, _file)}); the scrape token(s) read before stay in force");
                _unreadable = true;
                return;
            }
            _unreadable = false;
            if (raw.AsSpan().SequenceEqual(_lastRaw)) return;
            _lastRaw = raw;
            if (!TryParse(raw, out byte[][] digests, out string? error))
            {
                Log.Warn($"admin.metricsTokenFile: '{_file}' changed but {error}; the scrape token(s) read before stay in force");
                return;
            }
            Volatile.Write(ref _digests, digests);
            Log.Info($"admin.metricsTokenFile: '{_file}' changed; /metrics admits its {digests.Length} token(s) from now on");
        }
    }

    /// <summary>Each non-empty line (white space trimmed) is a token; the error never quotes one.</summary>
    private static bool TryParse(byte[] raw, out byte[][] digests, out string? error)
    {
        var found = new List<byte[]>();
        digests = [];
        int line = 0;
        foreach (Range r in raw.AsSpan().Split((byte)'\n'))
        {
            line++;
            ReadOnlySpan<byte> token = raw.AsSpan(r).Trim(" \t\r"u8);
            if (token.IsEmpty) continue;
            if (token.ContainsAnyExcept(Token68))
            {
                error = $"line {line} holds a character a bearer token cannot carry (letters, digits and -._~+/= only)";
                return false;
            }
            if (token.Length is < MinLength or > MaxLength)
            {
                error = $"line {line} is {token.Length} characters long; a scrape token must be {MinLength} to {MaxLength} (make one with `openssl rand -hex 32`)";
                return false;
            }
            found.Add(SHA256.HashData(token));
        }
        if (found.Count == 0)
        {
            error = "holds no token";
            return false;
        }
        if (found.Count > MaxTokens)
        {
            error = $"holds {found.Count} tokens; at most {MaxTokens}";
            return false;
        }
        digests = [.. found];
        error = null;
        return true;
    }
}
