using System.Security.Cryptography;
using System.Text.Json;
using FastMcp.Gateway.Hosting;
using FastMcp.Identity;

namespace FastMcp.Gateway.Approvals;

/// <summary>How one peer request ended: a signed answer, this replica itself (skipped), or a failure (counted, logged).</summary>
internal enum PeerOutcome : byte { Answered, Self, Failed }

/// <summary>One peer's part of a round: its URL, how it ended, and its status and body when it answered.</summary>
internal readonly record struct PeerAnswer(string Url, PeerOutcome Outcome, int Status, byte[] Body);

/// <summary>
/// The client side of the approval peer protocol (docs/approvals.md, "Peer protocol"): asks every other replica's admin
/// listener at once, bounded by approvals.peers.timeoutMs, and believes only answers MACed for its own request. A peer
/// that fails (unreachable, late, unsigned, wrongly signed) counts as not holding anything, so a failure never admits a
/// call; it is counted (fastmcp_approval_peer_failures_total) and logged at most once a minute per peer. Used only for
/// calls a grant-mode rule stopped, for the approvals API, and for requests on tasks admitted by an approval another replica
/// holds, never on the proxy's hot path.
/// </summary>
internal sealed class ApprovalPeers : IDisposable
{
    public const string InstanceHeader = "X-FastMcp-Peer-Instance";
    public const string TimestampHeader = "X-FastMcp-Peer-Timestamp";
    public const string NonceHeader = "X-FastMcp-Peer-Nonce";
    public const string SignatureHeader = "X-FastMcp-Peer-Signature";

    private readonly string[] _urls;
    private readonly ThrottledWarning[] _warnings;
    // 1 once a URL answered with this process's own instance id: it is this replica, never asked again.
    private readonly int[] _self;
    private readonly HttpClient _http;
    private readonly TimeSpan _timeout;
    private long _failures;

    public ApprovalPeers(ApprovalPeerOptions options, byte[] cardFingerprintKey)
    {
        Signature = new PeerSignature(cardFingerprintKey);
        Instance = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _urls = new string[options.Urls.Count];
        _warnings = new ThrottledWarning[_urls.Length];
        for (int i = 0; i < _urls.Length; i++)
        {
            _urls[i] = options.Urls[i].TrimEnd('/');
            _warnings[i] = new ThrottledWarning(60_000);
        }
        _self = new int[_urls.Length];
        _timeout = TimeSpan.FromMilliseconds(options.TimeoutMs);
        // Answers are small (one approval, or one replica's list); a peer cannot make this replica buffer more.
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false, UseProxy = false })
        {
            Timeout = Timeout.InfiniteTimeSpan,
            MaxResponseContentBufferSize = 16 * 1024 * 1024,
        };
    }

    /// <summary>This process's random id: sent with each request, so a replica that finds itself in the list skips itself.</summary>
    public string Instance { get; }

    public PeerSignature Signature { get; }

    /// <summary>Requests to this replica's peer endpoints refused before anything was read from them.</summary>
    public PeerRequestRefusals Refusals { get; } = new();

    /// <summary>Peer requests that failed (fastmcp_approval_peer_failures_total).</summary>
    public long Failures => Volatile.Read(ref _failures);

    /// <summary>
    /// A peer's live grant for this identical call from this identity (first choice), else a peer's pending approval for
    /// it; null when no peer answered with either (then this replica opens its own approval).
    /// </summary>
    public async Task<(string Url, PeerLookupAnswer Answer)?> LookupAsync(Principal requester, string rule, string digest, string? upstream)
    {
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(
            new PeerLookup { Issuer = requester.Issuer, Subject = requester.Subject, Rule = rule, Digest = digest, Upstream = upstream }, PeerJsonContext.Default.PeerLookup);
        (string Url, PeerLookupAnswer Answer)? pending = null;
        foreach (PeerAnswer a in await AskAllAsync("/peer/v1/lookup", body).ConfigureAwait(false))
        {
            if (a.Outcome != PeerOutcome.Answered) continue;
            PeerLookupAnswer? answer = a.Status == 200 ? Parse(a, PeerJsonContext.Default.PeerLookupAnswer) : null;
            if (answer is null || string.IsNullOrEmpty(answer.Id)) continue;
            if (answer.State == "grant") return (a.Url, answer);
            if (answer.State == "pending") pending ??= (a.Url, answer);
        }
        return pending;
    }

    /// <summary>Tells the holder of a grant that this replica forwarded the call it admitted; best effort, never awaited by the call.</summary>
    public void TellExecuted(string url, PendingApproval grant, int httpStatus)
    {
        int index = Array.IndexOf(_urls, url);
        if (index < 0) return;
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(
            new PeerExecuted { Id = grant.Id, Issuer = grant.Requester.Issuer, Subject = grant.Requester.Subject, HttpStatus = httpStatus }, PeerJsonContext.Default.PeerExecuted);
        _ = TellAsync(index, body);
    }

    private async Task TellAsync(int index, byte[] body)
    {
        using var timeout = new CancellationTokenSource(_timeout);
        PeerAnswer a = await SendAsync(index, "/peer/v1/executed", body, timeout.Token).ConfigureAwait(false);
        if (a.Outcome == PeerOutcome.Answered && a.Status != 200) Fail(index, $"did not take the execution of a grant it holds (HTTP {a.Status})");
    }

    /// <summary>An approvals API request for the holder to answer (it applies every check itself), sent to every peer at once.</summary>
    public Task<PeerAnswer[]> RelayAsync(Principal approver, string method, string path, bool all, string? body, string address)
    {
        var request = new PeerApiRequest
        {
            Principal = new PeerPrincipal { Issuer = approver.Issuer, Subject = approver.Subject, Groups = [.. approver.Groups], ClientId = approver.ClientId },
            Method = method,
            Path = path,
            All = all,
            Body = body,
            Address = address,
        };
        return AskAllAsync("/peer/v1/approvals", JsonSerializer.SerializeToUtf8Bytes(request, PeerJsonContext.Default.PeerApiRequest));
    }

    /// <summary>
    /// Does approval <paramref name="id"/> still stand for <paramref name="requester"/> (under <paramref name="rule"/>)? Asked of
    /// its holder when known, else of every peer at once; bounded by approvals.peers.timeoutMs. Revoked when the holder says
    /// so, Stands when it vouches for it, else Unknown; <c>Failed</c> counts the peers asked that failed (then nothing admits).
    /// </summary>
    public async Task<(ApprovalStanding Standing, string? Url, int Failed)> StandingAsync(string id, Principal requester, string? rule, string? holderUrl)
    {
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(
            new PeerStanding { Id = id, Issuer = requester.Issuer, Subject = requester.Subject, Rule = rule }, PeerJsonContext.Default.PeerStanding);
        int holder = holderUrl is null ? -1 : Array.IndexOf(_urls, holderUrl);
        PeerAnswer[] answers;
        if (holder >= 0)
        {
            using var timeout = new CancellationTokenSource(_timeout);
            answers = [await SendAsync(holder, "/peer/v1/standing", body, timeout.Token).ConfigureAwait(false)];
        }
        else answers = await AskAllAsync("/peer/v1/standing", body).ConfigureAwait(false);
        (ApprovalStanding Standing, string? Url, int Failed) result = (ApprovalStanding.Unknown, null, 0);
        foreach (PeerAnswer a in answers)
        {
            if (a.Outcome == PeerOutcome.Failed) result.Failed++;
            if (a.Outcome != PeerOutcome.Answered) continue;
            PeerStandingAnswer? answer = a.Status == 200 ? Parse(a, PeerJsonContext.Default.PeerStandingAnswer) : null;
            if (answer is null)
            {
                // A signed answer that says nothing (another status, not JSON): counted as a failure, never as a vouch.
                if (a.Status != 200) Fail(Array.IndexOf(_urls, a.Url), $"did not answer whether approval {id} stands (HTTP {a.Status})");
                result.Failed++;
                continue;
            }
            // Approval ids are random: one replica holds each. A revocation wins over anything else said.
            if (answer.State == "revoked") return (ApprovalStanding.Revoked, a.Url, result.Failed);
            if (answer.State == "approved") result = (ApprovalStanding.Stands, a.Url, result.Failed);
        }
        return result;
    }

    private async Task<PeerAnswer[]> AskAllAsync(string path, byte[] body)
    {
        using var timeout = new CancellationTokenSource(_timeout);
        var asks = new Task<PeerAnswer>[_urls.Length];
        for (int i = 0; i < asks.Length; i++) asks[i] = SendAsync(i, path, body, timeout.Token);
        return await Task.WhenAll(asks).ConfigureAwait(false);
    }

    private async Task<PeerAnswer> SendAsync(int index, string path, byte[] body, CancellationToken ct)
    {
        string url = _urls[index];
        if (Volatile.Read(ref _self[index]) != 0) return new PeerAnswer(url, PeerOutcome.Self, 0, []);
        string nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        long timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url + path) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            request.Headers.TryAddWithoutValidation(InstanceHeader, Instance);
            request.Headers.TryAddWithoutValidation(TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.TryAddWithoutValidation(NonceHeader, nonce);
            request.Headers.TryAddWithoutValidation(SignatureHeader, Signature.SignRequest(path, timestamp, nonce, Instance, body));
            using HttpResponseMessage response = await _http.SendAsync(request, ct).ConfigureAwait(false);
            byte[] answer = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            string? instance = Header(response, InstanceHeader);
            string? signature = Header(response, SignatureHeader);
            // Believed only when MACed under the peer key for this very request (its nonce): a spoofed peer cannot grant.
            if (instance is null || signature is null || !Signature.VerifyResponse(nonce, instance, status, answer, signature))
                return Fail(index, $"answer (HTTP {status}) is not signed with the peer key: is it a replica with the same card fingerprint key?");
            if (instance == Instance)
            {
                Volatile.Write(ref _self[index], 1);
                return new PeerAnswer(url, PeerOutcome.Self, 0, []);
            }
            return new PeerAnswer(url, PeerOutcome.Answered, status, answer);
        }
        catch (OperationCanceledException)
        {
            return Fail(index, $"no answer within approvals.peers.timeoutMs ({(int)_timeout.TotalMilliseconds} ms)");
        }
        catch (HttpRequestException e)
        {
            return Fail(index, FastMcp.Http.PlainError.Describe(e));
        }
        catch (ObjectDisposedException)
        {
            // The gateway is stopping (a late execution report): nothing to ask any more.
            return new PeerAnswer(url, PeerOutcome.Failed, 0, []);
        }
    }

    private T? Parse<T>(PeerAnswer a, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(a.Body, type);
        }
        catch (JsonException e)
        {
            Fail(Array.IndexOf(_urls, a.Url), $"signed answer is not valid JSON: {FastMcp.Http.PlainError.Describe(e)}");
            return null;
        }
    }

    private static string? Header(HttpResponseMessage response, string name)
    {
        if (!response.Headers.TryGetValues(name, out IEnumerable<string>? values)) return null;
        foreach (string value in values) return value;
        return null;
    }

    private PeerAnswer Fail(int index, string why)
    {
        Interlocked.Increment(ref _failures);
        if (index >= 0 && _warnings[index].TryTake(out int skipped))
            Log.Warn($"approval peer {_urls[index]}: {why}; treated as holding nothing" + Hosting.LogRateLimit.Held(skipped));
        return new PeerAnswer(index >= 0 ? _urls[index] : "", PeerOutcome.Failed, 0, []);
    }

    public void Dispose() => _http.Dispose();
}
