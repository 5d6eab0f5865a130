using System.Text;

namespace FastMcp.Identity;

/// <summary>
/// The header line the gateway sends upstream instead of the client's credential (no token passthrough).
/// A file source is re-read when its content changes (polled, because secret mounts swap symlinks that
/// file watchers miss); an invalid new value is ignored and the previous one kept. An oauth source holds an access token
/// obtained with the client credentials grant (<see cref="OAuthTokenSource"/>); while it holds none that is unexpired, there
/// is no line to send and the request is refused by the caller (<see cref="TryGetHeaderLine"/>). A tokenExchange source
/// holds a token per caller (<see cref="TokenExchangeSource"/>): only <see cref="AcquireAsync"/>, given the caller's
/// Authorization header, gives a line; asked without a caller it gives none (never another caller's token).
/// </summary>
public sealed class UpstreamCredential : IDisposable
{
    private readonly UpstreamCredentialOptions _options;
    private readonly ITimer? _timer;
    private byte[] _headerLine = [];
    private byte[] _lastRaw = [];
    private readonly Lock _reloadLock = new();
    private readonly OAuthTokenSource? _oauth;
    private readonly TokenExchangeSource? _exchange;
    // "Name:\r\n" of a tokenExchange source: names the field the gateway states itself (so the client's is never passed).
    private readonly byte[] _nameOnlyLine = [];
    private long _refusedRequests;

    public UpstreamCredential(UpstreamCredentialOptions o) : this(o, TimeProvider.System) { }

    public UpstreamCredential(UpstreamCredentialOptions o, TimeProvider time) : this(o, time, new UpstreamCredentialStart("default", FetchTokens: true, null, null)) { }

    /// <param name="start">Which upstream it is for (log lines), and whether an oauth source fetches tokens now (false for a
    /// configuration check, which validates without calling the token endpoint).</param>
    public UpstreamCredential(UpstreamCredentialOptions o, TimeProvider time, UpstreamCredentialStart start)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(start);
        _options = o;
        if (!o.IsConfigured)
            return;
        o.ValidateSource();
        if (o.TokenExchange is { } exchange)
        {
            exchange.Validate("identity.upstreamCredential.tokenExchange");
            _exchange = new TokenExchangeSource(exchange, o.HeaderName, o.Scheme, start.Upstream, time, start.Info, start.Warn);
            _nameOnlyLine = Encoding.ASCII.GetBytes(o.HeaderName + ":\r\n");
        }
        else if (o.OAuth is { } oauth)
        {
            oauth.Validate("identity.upstreamCredential.oauth");
            _oauth = new OAuthTokenSource(oauth, o.HeaderName, o.Scheme, start.Upstream, time, start.Info, start.Warn);
            if (start.FetchTokens) _oauth.Start();
        }
        else if (!string.IsNullOrEmpty(o.ValueFile))
        {
            if (!TryReload(out string? error))
                throw new IdentityConfigurationException($"identity.upstreamCredential.valueFile: {error}");
            int interval = Math.Max(50, o.FileCheckIntervalMilliseconds);
            _timer = time.CreateTimer(static s => ((UpstreamCredential)s!).TryReload(out _), this, TimeSpan.FromMilliseconds(interval), TimeSpan.FromMilliseconds(interval));
        }
        else
        {
            string? value = Environment.GetEnvironmentVariable(o.ValueEnv!);
            if (string.IsNullOrEmpty(value))
                throw new IdentityConfigurationException($"identity.upstreamCredential.valueEnv: environment variable '{o.ValueEnv}' is not set");
            if (!TryBuildLine(o.HeaderName, o.Scheme, Encoding.UTF8.GetBytes(value), out var line, out string? error))
                throw new IdentityConfigurationException($"identity.upstreamCredential.valueEnv: {error}");
            _headerLine = line;
        }
    }

    /// <summary>"Name: [Scheme ]value\r\n" ready to append to the upstream request head; empty when no credential is configured
    /// or an oauth source holds no unexpired token (callers that forward use <see cref="TryGetHeaderLine"/>, which refuses then).</summary>
    /// A tokenExchange source gives "Name:" with no value: which field the gateway states, not a token.</summary>
    public ReadOnlySpan<byte> HeaderLine => _exchange is not null ? _nameOnlyLine : _oauth is null ? Volatile.Read(ref _headerLine) : _oauth.CurrentLine;

    /// <summary>
    /// The line to send with one request; false (counted in <see cref="RefusedRequests"/>) when an oauth source holds no
    /// unexpired token: the request must not go out without the credential. No allocation. A tokenExchange source has no
    /// line without a caller: false (the gateway's own requests with no caller behind them are not sent).
    /// </summary>
    public bool TryGetHeaderLine(out byte[] line)
    {
        if (_exchange is not null)
        {
            line = [];
            return false;
        }
        if (_oauth is null)
        {
            line = Volatile.Read(ref _headerLine);
            return true;
        }
        byte[]? current = _oauth.CurrentLine;
        if (current is null)
        {
            Interlocked.Increment(ref _refusedRequests);
            line = [];
            return false;
        }
        line = current;
        return true;
    }

    /// <summary>
    /// The line to send with a request of the caller whose Authorization header (as the gateway verified it) is
    /// <paramref name="callerAuthorization"/>. Shared sources answer as <see cref="TryGetHeaderLine"/>. A tokenExchange
    /// source answers a cached caller (or a remembered refusal of it) synchronously without allocating, and otherwise exchanges the caller's token;
    /// with no bearer token to exchange it gives none (Unavailable). The header is read before any await.
    /// </summary>
    public ValueTask<UpstreamCredentialLine> AcquireAsync(ReadOnlyMemory<byte> callerAuthorization, CancellationToken ct)
    {
        if (_exchange is null)
            return new ValueTask<UpstreamCredentialLine>(TryGetHeaderLine(out byte[] line)
                ? new UpstreamCredentialLine(line, UpstreamCredentialFailure.None) : new UpstreamCredentialLine([], UpstreamCredentialFailure.Unavailable));
        // No bearer token: the gateway's own request with no caller behind it (it is counted where it is made).
        if (BearerHeader.TryGetToken(callerAuthorization.Span, out ReadOnlySpan<byte> token) != AuthFailure.None)
            return new ValueTask<UpstreamCredentialLine>(new UpstreamCredentialLine([], UpstreamCredentialFailure.Unavailable));
        if (_exchange.TryGetCached(token, out UpstreamCredentialLine cached)) return new ValueTask<UpstreamCredentialLine>(cached);
        return new ValueTask<UpstreamCredentialLine>(_exchange.ExchangeAsync(token, ct));
    }

    /// <summary>True for a tokenExchange source (a token per caller).</summary>
    public bool IsTokenExchange => _exchange is not null;

    /// <summary>Successful exchanges; requests refused because the endpoint was unavailable or refused the caller (tokenExchange only).</summary>
    public (long Exchanges, long Unavailable, long Refused, int Cached) ExchangeCounts =>
        _exchange is null ? default : (_exchange.Exchanges, _exchange.Unavailable, _exchange.Refused, _exchange.CachedCallers);

    /// <summary>Exchanged tokens the upstream answered 401 to (0 unless the credential is a token exchange).</summary>
    public long ExchangedTokensRejected => _exchange?.UpstreamRejected ?? 0;

    /// <summary>True for an oauth source (a token that can expire and be refused).</summary>
    public bool IsOAuth => _oauth is not null;

    /// <summary>False while an oauth source holds no unexpired token (/readyz lists the upstream).</summary>
    public bool IsAvailable => _oauth is null || _oauth.CurrentLine is not null;

    /// <summary>Requests refused because no unexpired token was held (fastmcp_upstream_credential_failures_total).</summary>
    public long RefusedRequests => Interlocked.Read(ref _refusedRequests);

    /// <summary>Failed token requests since start; 0 for other sources.</summary>
    public long TokenFetchFailures => _oauth?.FetchFailures ?? 0;

    /// <summary>Seconds the oauth token still lives (0: none held; +Infinity: no stated lifetime); null for other sources.</summary>
    public double? TokenRemainingSeconds => _oauth?.RemainingSeconds;

    /// <summary>Why no token is held (the token request's last error), for /readyz; null when one is.</summary>
    public string? UnavailableReason => _oauth is null || _oauth.CurrentLine is not null ? null
        : "no upstream access token: " + (_oauth.LastError ?? "the token expired and no new one has been obtained yet");

    /// <summary>The upstream answered 401 to a request sent with <paramref name="line"/>: an oauth source renews that token once.</summary>
    public void ReportRejected(byte[] line) => _oauth?.ReportRejected(line);

    /// <summary>As <see cref="ReportRejected(byte[])"/>; a tokenExchange source drops the entry of the caller whose
    /// Authorization header is <paramref name="callerAuthorization"/> (its next request exchanges again).</summary>
    public void ReportRejected(byte[] line, ReadOnlySpan<byte> callerAuthorization)
    {
        if (_exchange is null)
        {
            _oauth?.ReportRejected(line);
            return;
        }
        if (BearerHeader.TryGetToken(callerAuthorization, out ReadOnlySpan<byte> token) == AuthFailure.None) _exchange.ReportRejected(token, line);
    }

    /// <summary>Name of the injected header, or null when none is configured.</summary>
    public string? HeaderName => _options.IsConfigured ? _options.HeaderName : null;

    /// <summary>Why the last re-read was rejected; null when the current value came from the latest file content.</summary>
    public string? LastError { get; private set; }

    /// <summary>Re-reads the file now (the timer does this periodically). Returns false and keeps the old value on error.</summary>
    public bool TryReload(out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(_options.ValueFile))
            return true;
        // The timer and an explicit call may race; one reload at a time keeps _lastRaw and the line consistent.
        lock (_reloadLock)
            return ReloadLocked(out error);
    }

    private bool ReloadLocked(out string? error)
    {
        error = null;
        byte[] raw;
        try
        {
            raw = File.ReadAllBytes(_options.ValueFile!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LastError = error = $"cannot read '{_options.ValueFile}': {FastMcp.Http.PlainError.Describe(ex, _options.ValueFile)}";
            return false;
        }
        if (raw.AsSpan().SequenceEqual(_lastRaw))
            return true;
        if (!TryBuildLine(_options.HeaderName, _options.Scheme, raw, out var line, out error))
        {
            LastError = error;
            return false;
        }
        _lastRaw = raw;
        Volatile.Write(ref _headerLine, line);
        LastError = null;
        return true;
    }

    /// <summary>Builds "Name: [Scheme ]value\r\n" from a value, refusing one that could break the request head.</summary>
    internal static bool TryBuildLine(string headerName, string? scheme, ReadOnlySpan<byte> raw, out byte[] line, out string? error)
    {
        line = [];
        var value = raw.Trim(" \t\r\n"u8);
        if (value.IsEmpty)
        {
            error = "credential value is empty";
            return false;
        }
        // Header injection guard: a value may not contain CR, LF or other control bytes.
        foreach (byte b in value)
        {
            if (b < 0x20 && b != (byte)'\t' || b == 0x7f)
            {
                error = "credential value contains control characters";
                return false;
            }
        }
        var sb = new List<byte>(value.Length + 64);
        sb.AddRange(Encoding.ASCII.GetBytes(headerName));
        sb.AddRange(": "u8);
        if (!string.IsNullOrEmpty(scheme))
        {
            sb.AddRange(Encoding.ASCII.GetBytes(scheme));
            sb.Add((byte)' ');
        }
        sb.AddRange(value);
        sb.AddRange("\r\n"u8);
        line = [.. sb];
        error = null;
        return true;
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _oauth?.Dispose();
        _exchange?.Dispose();
    }
}
