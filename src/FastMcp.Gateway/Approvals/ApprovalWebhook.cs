using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Approvals;

/// <summary>
/// Announces approval events to one URL: an HTTP POST of JSON signed with HMAC-SHA-256 over
/// "timestamp.body" (header X-FastMcp-Signature: v1=hex), so a bridge can check origin and
/// freshness. Deliveries are queued (bounded) and retried with backoff; a failing webhook never
/// blocks or changes a decision.
/// </summary>
internal sealed class ApprovalWebhook : IAsyncDisposable
{
    private readonly Uri _url;
    private readonly byte[] _secret;
    private readonly int _maxAttempts;
    private readonly HttpClient _http;
    private readonly Channel<(string Event, byte[] Body)> _queue = Channel.CreateBounded<(string, byte[])>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sender;
    // The receiver decides how often it fails, and a client how often approvals start: lines per interval, not per event.
    private readonly ThrottledWarning _attemptLine = new(LogRateLimit.IntervalMs);
    private readonly ThrottledWarning _gaveUpLine = new(LogRateLimit.IntervalMs);
    private long _failedAttempts;
    private long _undelivered;

    /// <summary>Delivery attempts that failed (no answer, or not 2xx), retried or not.</summary>
    public long FailedAttempts => Volatile.Read(ref _failedAttempts);

    /// <summary>Events given up after webhook.maxAttempts.</summary>
    public long Undelivered => Volatile.Read(ref _undelivered);

    public ApprovalWebhook(WebhookOptions options)
    {
        _url = new Uri(options.Url);
        _secret = options.LoadSecret();
        _maxAttempts = options.MaxAttempts;
        // The system store, or only the CAs of webhook.caFile (a bridge behind a private CA).
        X509ChainPolicy? privateCa = string.IsNullOrEmpty(options.CaFile) ? null : options.LoadCaPolicy(_url);
        _http = new HttpClient(FastMcp.Http.PrivateCaTrust.Apply(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false }, privateCa))
        {
            Timeout = TimeSpan.FromMilliseconds(options.TimeoutMs),
        };
        _sender = SendLoopAsync();
    }

    /// <summary>Snapshots the approval now and queues the delivery.</summary>
    public void Publish(string eventName, PendingApproval approval, int? httpStatus = null)
    {
        var payload = new WebhookPayload
        {
            Event = eventName,
            Delivery = Guid.NewGuid().ToString("N"),
            Timestamp = ApprovalBroker.Iso(DateTime.UtcNow),
            HttpStatus = httpStatus,
            Approval = ApprovalView.From(approval),
        };
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(payload, ApprovalJsonContext.Default.WebhookPayload);
        _queue.Writer.TryWrite((eventName, body));
    }

    /// <summary>The signature header value for a body sent at a Unix time (also what receivers recompute).</summary>
    public static string Sign(byte[] secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        byte[] prefix = Encoding.ASCII.GetBytes(unixSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".");
        byte[] message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(secret, message));
    }

    private async Task SendLoopAsync()
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (_queue.Reader.TryRead(out var item)) await DeliverAsync(item.Event, item.Body).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task DeliverAsync(string eventName, byte[] body)
    {
        for (int attempt = 1; attempt <= _maxAttempts; attempt++)
        {
            try
            {
                long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                using var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.TryAddWithoutValidation("X-FastMcp-Event", eventName);
                request.Headers.TryAddWithoutValidation("X-FastMcp-Timestamp", now.ToString(System.Globalization.CultureInfo.InvariantCulture));
                request.Headers.TryAddWithoutValidation("X-FastMcp-Signature", Sign(_secret, now, body));
                using HttpResponseMessage response = await _http.SendAsync(request, _stop.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode) return;
                Interlocked.Increment(ref _failedAttempts);
                if (_attemptLine.TryTake(out int held))
                    Log.Warn($"approvals webhook: {eventName} answered {(int)response.StatusCode} (attempt {attempt} of {_maxAttempts})" + LogRateLimit.Held(held));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !_stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref _failedAttempts);
                if (_attemptLine.TryTake(out int held))
                    Log.Warn($"approvals webhook: {eventName} failed: {FastMcp.Http.PlainError.Describe(e)} (attempt {attempt} of {_maxAttempts})" + LogRateLimit.Held(held));
            }
            if (attempt < _maxAttempts) await Task.Delay(TimeSpan.FromSeconds(Math.Min(60, 1 << (attempt - 1))), _stop.Token).ConfigureAwait(false);
        }
        Interlocked.Increment(ref _undelivered);
        if (_gaveUpLine.TryTake(out int gaveUp))
            Log.Error($"approvals webhook: gave up delivering {eventName} after {_maxAttempts} attempts" + LogRateLimit.Held(gaveUp));
    }

    /// <summary>Gives queued deliveries a short while to go out, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        Task done = await Task.WhenAny(_sender, Task.Delay(TimeSpan.FromSeconds(3))).ConfigureAwait(false);
        if (done != _sender) _stop.Cancel();
        try { await _sender.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stop.Dispose();
        _http.Dispose();
    }
}
