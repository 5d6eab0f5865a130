using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace FastMcp.Identity;

/// <summary>
/// The upstream credential of one caller, obtained by token exchange (RFC 8693) with the caller's verified token as
/// subject_token, and kept per caller token until the earlier of the exchanged token's expiry (less the margin) and the
/// caller token's own exp. A hit is a seeded hash, one lookup, a comparison of the whole caller token (so two tokens never
/// share an entry, whatever their hash) and a clock read: no allocation. Concurrent misses for the same caller token make
/// one request. A refusal of the caller (its token or this audience for it) is kept for refusalCacheSeconds (never past the
/// caller token's exp, within the same cacheSize bound), so a caller retrying a refused token costs the identity provider
/// one request per interval, not one per retry. Unavailability (endpoint down, failing, slow) is not about the caller and is
/// not kept: the next request of that caller asks again.
/// </summary>
internal sealed class TokenExchangeSource : IDisposable
{
    private const string ExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange";
    // The endpoint's answers that refuse this caller (its token, or this audience for it), not the gateway as a whole.
    // RFC 6749 §5.2 and RFC 8693 §2.2.2 codes that speak of this caller's token or its target. invalid_client (401) and
    // unauthorized_client speak of the gateway's own client registration: every caller would get them, so they are the
    // gateway's failure (503), not a refusal of this caller.
    private static readonly string[] RefusingCodes = ["invalid_grant", "invalid_target", "access_denied"];
    private static readonly TimeSpan WarnInterval = TimeSpan.FromSeconds(10);

    private sealed class Entry(byte[] callerToken, byte[] line, long validUntil, bool refused = false)
    {
        /// <summary>The exact caller token: equality with it, not the hash, makes a hit.</summary>
        public byte[] CallerToken { get; } = callerToken;
        public byte[] Line { get; } = line;
        /// <summary>Stopwatch timestamp from which the entry is no longer used.</summary>
        public long ValidUntil { get; } = validUntil;
        /// <summary>The endpoint refused this caller: answered 403 from here until <see cref="ValidUntil"/>.</summary>
        public bool Refused { get; } = refused;
    }

    // One exchange in flight for one caller token; later requests with the same token wait for it.
    private sealed class Pending(byte[] callerToken)
    {
        public byte[] CallerToken { get; } = callerToken;
        public TaskCompletionSource<UpstreamCredentialLine> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly TokenExchangeOptions _options;
    private readonly string _headerName;
    private readonly string? _scheme;
    private readonly string _upstream;
    private readonly TimeProvider _time;
    private readonly Action<string>? _info;
    private readonly Action<string>? _warn;
    private readonly HttpClient _http;
    private readonly OAuthTokenRequest _request;
    private readonly ConcurrentDictionary<ulong, Entry> _entries = new();
    // Insertion order, for evicting the oldest; replaced entries leave stale items that eviction skips.
    private readonly ConcurrentQueue<(ulong Key, Entry Entry)> _order = new();
    private readonly ConcurrentDictionary<ulong, Pending> _pending = new();
    private readonly Lock _evictLock = new();
    private readonly CancellationTokenSource _stop = new();
    private long _exchanges, _unavailable, _refused, _lastWarn = long.MinValue;
    private int _heldWarnings;
    private long _upstreamRejected, _lastRejectedLine = long.MinValue;
    private int _heldRejectedLines;

    public TokenExchangeSource(TokenExchangeOptions options, string headerName, string? scheme, string upstream, TimeProvider time,
        Action<string>? info, Action<string>? warn)
    {
        _options = options;
        _headerName = headerName;
        _scheme = scheme;
        _upstream = upstream;
        _time = time;
        _info = info;
        _warn = warn;
        // Read now so a missing secret is a configuration error; read again at each exchange (a rotated file is used at once).
        if (OAuthTokenSource.ReadClientSecret(options, "tokenExchange", out string? error) is null) throw new IdentityConfigurationException(error!);
        _http = OAuthTokenSource.CreateHttpClient(options, upstream, "tokenExchange");
        _request = new OAuthTokenRequest(options, _http);
    }

    /// <summary>Successful exchanges since start.</summary>
    public long Exchanges => Interlocked.Read(ref _exchanges);
    /// <summary>Requests not forwarded because no token could be obtained (endpoint down, slow, failing).</summary>
    public long Unavailable => Interlocked.Read(ref _unavailable);
    /// <summary>Requests not forwarded because the endpoint refused a token for the caller.</summary>
    public long Refused => Interlocked.Read(ref _refused);
    /// <summary>Exchanged tokens the upstream answered 401 to (each dropped, so the caller's next request exchanges again).</summary>
    public long UpstreamRejected => Interlocked.Read(ref _upstreamRejected);
    /// <summary>Callers whose exchanged token, or whose refusal, is held.</summary>
    public int CachedCallers => _entries.Count;

    /// <summary>The cached answer for <paramref name="callerToken"/>, unexpired: its line, or its remembered refusal (counted
    /// as refused, logged only in the held-back count); allocation-free.</summary>
    public bool TryGetCached(ReadOnlySpan<byte> callerToken, out UpstreamCredentialLine answer)
    {
        if (_entries.TryGetValue(TokenKey.Compute(callerToken), out Entry? entry) && callerToken.SequenceEqual(entry.CallerToken)
            && Stopwatch.GetTimestamp() < entry.ValidUntil)
        {
            if (entry.Refused)
            {
                Interlocked.Increment(ref _refused);
                Interlocked.Increment(ref _heldWarnings);
                answer = new UpstreamCredentialLine([], UpstreamCredentialFailure.Refused);
                return true;
            }
            answer = new UpstreamCredentialLine(entry.Line, UpstreamCredentialFailure.None);
            return true;
        }
        answer = default;
        return false;
    }

    /// <summary>Exchanges <paramref name="callerToken"/> (or joins the exchange already under way for it). <paramref name="ct"/>
    /// ends this caller's wait only: the exchange goes on for the others and is cached.</summary>
    public Task<UpstreamCredentialLine> ExchangeAsync(ReadOnlySpan<byte> callerToken, CancellationToken ct)
    {
        ulong key = TokenKey.Compute(callerToken);
        var mine = new Pending(callerToken.ToArray());
        Pending pending = _pending.GetOrAdd(key, mine);
        if (!ReferenceEquals(pending, mine))
        {
            // Another token with the same hash is being exchanged: this one goes alone (never shares the other's answer).
            if (!callerToken.SequenceEqual(pending.CallerToken)) _ = RunAsync(key, mine, coalesced: false);
            else return WaitAsync(pending.Done.Task, ct);
        }
        else
        {
            _ = RunAsync(key, mine, coalesced: true);
        }
        return WaitAsync(mine.Done.Task, ct);
    }

    // A request that stops waiting (its deadline passed first) is not forwarded either: no line, counted unavailable.
    private async Task<UpstreamCredentialLine> WaitAsync(Task<UpstreamCredentialLine> exchange, CancellationToken ct)
    {
        try
        {
            return await exchange.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return Fail(UpstreamCredentialFailure.Unavailable, $"no answer from {_options.TokenUrl} before the request's deadline");
        }
    }

    private async Task RunAsync(ulong key, Pending pending, bool coalesced)
    {
        UpstreamCredentialLine result;
        try
        {
            result = await ExchangeOnceAsync(key, pending.CallerToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Whatever went wrong, the waiting requests are answered (not forwarded), never left hanging.
            result = Fail(UpstreamCredentialFailure.Unavailable, $"token exchange at {_options.TokenUrl} failed: {e.GetType().Name}");
        }
        if (coalesced) _pending.TryRemove(new KeyValuePair<ulong, Pending>(key, pending));
        pending.Done.TrySetResult(result);
    }

    private async Task<UpstreamCredentialLine> ExchangeOnceAsync(ulong key, byte[] callerToken)
    {
        string? secret = OAuthTokenSource.ReadClientSecret(_options, "tokenExchange", out string? secretError);
        if (secret is null) return Fail(UpstreamCredentialFailure.Unavailable, secretError!);
        List<KeyValuePair<string, string>> grant =
        [
            new("grant_type", ExchangeGrant),
            new("subject_token", Encoding.ASCII.GetString(callerToken)),
            new("subject_token_type", _options.SubjectTokenTypeUri),
            new("requested_token_type", _options.RequestedTokenTypeUri),
        ];
        long asked = Stopwatch.GetTimestamp();
        OAuthTokenAnswer answer = await _request.SendAsync(secret, grant, _options.RequestedTokenTypeUri, _stop.Token).ConfigureAwait(false);
        if (answer.Token is not { } token)
        {
            bool refused = answer.ErrorCode is not ("invalid_client" or "unauthorized_client")
                && (answer.Status == 403 || answer.Status == 400 && Array.IndexOf(RefusingCodes, answer.ErrorCode) >= 0);
            if (refused) RememberRefusal(key, callerToken, asked);
            return Fail(refused ? UpstreamCredentialFailure.Refused : UpstreamCredentialFailure.Unavailable, answer.Error!);
        }
        if (!UpstreamCredential.TryBuildLine(_headerName, _scheme, Encoding.UTF8.GetBytes(token.AccessToken), out byte[] line, out string? lineError))
            return Fail(UpstreamCredentialFailure.Unavailable, $"token endpoint {_options.TokenUrl}: the exchanged token cannot be sent in a header: {lineError}");
        Interlocked.Increment(ref _exchanges);
        long validUntil = ValidUntil(asked, token.ExpiresInSeconds, callerToken);
        if (validUntil > Stopwatch.GetTimestamp()) Store(key, new Entry(callerToken, line, validUntil));
        return new UpstreamCredentialLine(line, UpstreamCredentialFailure.None);
    }

    // The refusal is kept for refusalCacheSeconds from the request, never past the caller token's exp (a token whose exp
    // cannot be read is not kept): a new token of the same caller is a new key, asked at once.
    private void RememberRefusal(ulong key, byte[] callerToken, long asked)
    {
        if (_options.RefusalCacheSeconds == 0 || CallerExpiry(callerToken) is not long exp) return;
        double callerLeft = exp - _time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        double seconds = Math.Min(_options.RefusalCacheSeconds, callerLeft);
        if (seconds <= 0) return;
        Store(key, new Entry(callerToken, [], asked + (long)(seconds * Stopwatch.Frequency), refused: true));
    }

    // The earlier of the exchanged token's usable life (lifetime less the margin; half of it when shorter than twice the
    // margin) and the caller token's exp: an exchanged token never outlives the identity it stands for. A caller token
    // whose exp cannot be read gives an entry that is not kept (exchanged again at each request).
    private long ValidUntil(long asked, int? expiresIn, byte[] callerToken)
    {
        long until = long.MaxValue;
        if (expiresIn is int seconds)
        {
            double margin = _options.RefreshBeforeExpirySeconds;
            double usable = seconds > 2 * margin ? seconds - margin : seconds / 2.0;
            until = asked + (long)(usable * Stopwatch.Frequency);
        }
        if (CallerExpiry(callerToken) is not long exp) return asked;
        double callerLeft = exp - _time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        return Math.Min(until, asked + (long)(Math.Max(0, callerLeft) * Stopwatch.Frequency));
    }

    /// <summary>The exp claim (seconds since the epoch) of a JWS in compact form, or null when it cannot be read.</summary>
    internal static long? CallerExpiry(ReadOnlySpan<byte> token)
    {
        int first = token.IndexOf((byte)'.');
        if (first < 0) return null;
        ReadOnlySpan<byte> rest = token[(first + 1)..];
        int second = rest.IndexOf((byte)'.');
        if (second < 0) return null;
        byte[] payload;
        try
        {
            payload = Base64Url.DecodeFromUtf8(rest[..second]);
        }
        catch (FormatException)
        {
            return null;
        }
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isExp = reader.ValueTextEquals("exp"u8);
                reader.Read();
                if (isExp) return reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out double exp) ? (long)exp : null;
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }

    private void Store(ulong key, Entry entry)
    {
        _entries[key] = entry;
        _order.Enqueue((key, entry));
        int capacity = _options.CacheSize;
        if (_order.Count <= capacity) return;
        lock (_evictLock)
        {
            // Oldest first; the queue is also kept within twice the bound, so replaced entries do not pile up in it.
            while ((_entries.Count > capacity || _order.Count > 2 * capacity) && _order.TryDequeue(out (ulong Key, Entry Entry) oldest))
                _entries.TryRemove(new KeyValuePair<ulong, Entry>(oldest.Key, oldest.Entry));
        }
    }

    /// <summary>The upstream answered 401 to <paramref name="line"/>, exchanged for <paramref name="callerToken"/>: that entry is
    /// dropped, so the caller's next request exchanges again. The request itself is not repeated.</summary>
    public void ReportRejected(ReadOnlySpan<byte> callerToken, byte[] line)
    {
        ulong key = TokenKey.Compute(callerToken);
        if (_entries.TryGetValue(key, out Entry? entry) && !entry.Refused && ReferenceEquals(entry.Line, line)
            && _entries.TryRemove(new KeyValuePair<ulong, Entry>(key, entry)))
        {
            Interlocked.Increment(ref _upstreamRejected);
            // The upstream can answer 401 to every call: at most one line per interval, with how many were held back.
            if (!TakeLine(ref _lastRejectedLine, ref _heldRejectedLines, out int held)) return;
            _info?.Invoke($"upstream '{_upstream}' refused an exchanged token (401): the caller's next request exchanges again"
                + (held > 0 ? $" ({held} more like it since the last such line)" : ""));
        }
    }

    /// <summary>True when a line may be written now (none within <see cref="WarnInterval"/>); else counted in <paramref name="heldLines"/>.</summary>
    private static bool TakeLine(ref long last, ref int heldLines, out int held)
    {
        long now = Stopwatch.GetTimestamp();
        long seen = Interlocked.Read(ref last);
        if ((seen == long.MinValue || Stopwatch.GetElapsedTime(seen, now) >= WarnInterval) && Interlocked.CompareExchange(ref last, now, seen) == seen)
        {
            held = Interlocked.Exchange(ref heldLines, 0);
            return true;
        }
        Interlocked.Increment(ref heldLines);
        held = 0;
        return false;
    }

    private UpstreamCredentialLine Fail(UpstreamCredentialFailure failure, string error)
    {
        Interlocked.Increment(ref failure == UpstreamCredentialFailure.Refused ? ref _refused : ref _unavailable);
        // At most one line per interval (one per caller would flood), with how many were held back; never a token.
        if (TakeLine(ref _lastWarn, ref _heldWarnings, out int held))
        {
            _warn?.Invoke($"upstream '{_upstream}': token exchange failed: {error}; the request is not forwarded ("
                + (failure == UpstreamCredentialFailure.Refused ? "403, the identity provider refused this caller" : "503") + ")"
                + (held > 0 ? $" ({held} more requests refused or failed since the last such line)" : ""));
        }
        return new UpstreamCredentialLine([], failure);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _http.Dispose();
        _stop.Dispose();
    }
}
