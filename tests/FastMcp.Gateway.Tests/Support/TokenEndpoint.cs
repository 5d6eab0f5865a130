using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// A real OAuth 2.0 token endpoint (client credentials, RFC 6749 §4.4) on 127.0.0.1 for the gateway's upstream credential:
/// checks the client secret (HTTP Basic or form), issues "tok-1", "tok-2", … with the lifetime the test sets, and records
/// every request. Its port is held bound before it listens, so a test can start the gateway while the endpoint is down.
/// Used where a token lifetime of seconds is needed (oidc-provider, in the identity tests, issues minutes).
/// It also answers token exchange requests (RFC 8693 §2.1, which oidc-provider does not offer): it issues "ex-1", "ex-2", …
/// with issued_token_type access_token, remembers which subject_token each was issued for, and refuses the subject tokens a
/// test names (400 invalid_grant), the audiences it names (400 invalid_target) or every request (<see cref="FailingStatus"/>),
/// and can stall every answer until the test lets it go (<see cref="Stall"/>).
/// </summary>
internal sealed class TokenEndpoint : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Socket _reservation;
    private Task? _loop;
    private int _issued;

    public TokenEndpoint(string clientId, string clientSecret)
    {
        ClientId = clientId;
        ClientSecret = clientSecret;
        // The port stays bound (not listening) until Start: while the endpoint is down a connection to it is refused, and
        // no other test's listener or outgoing connection can take the port meanwhile.
        _reservation = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _reservation.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_reservation.LocalEndPoint!).Port;
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
    }

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}/oauth2/token";
    public string ClientId { get; }
    /// <summary>The secret it accepts (a test may change it).</summary>
    public string ClientSecret { get; set; }
    /// <summary>expires_in of the tokens it issues; null leaves it out.</summary>
    public int? ExpiresInSeconds { get; set; } = 300;

    /// <summary>Subject tokens refused with 400 invalid_grant.</summary>
    public ConcurrentDictionary<string, bool> RefusedSubjects { get; } = new(StringComparer.Ordinal);
    /// <summary>Audiences refused with 400 invalid_target, whoever the subject (a caller not allowed one upstream).</summary>
    public ConcurrentDictionary<string, bool> RefusedAudiences { get; } = new(StringComparer.Ordinal);
    /// <summary>When set, every request is answered with this status (an endpoint in trouble).</summary>
    public int? FailingStatus { get; set; }
    /// <summary>How long it waits before answering each request (a slow endpoint).</summary>
    public int AnswerDelayMs { get; set; }
    /// <summary>When set, every request waits until the test completes it before it is answered (an endpoint that stalls).</summary>
    public TaskCompletionSource? Stall { get; set; }
    /// <summary>token_type of exchanged tokens.</summary>
    public string ExchangedTokenType { get; set; } = "Bearer";
    /// <summary>Each exchanged token and the subject_token it was issued for.</summary>
    public ConcurrentDictionary<string, string> ExchangedFor { get; } = new(StringComparer.Ordinal);

    /// <summary>Tokens issued so far.</summary>
    public int Issued => Volatile.Read(ref _issued);

    /// <summary>Every request: its Authorization header and its form body.</summary>
    public ConcurrentQueue<(string? Authorization, string Form)> Requests { get; } = new();

    public TokenEndpoint Start()
    {
        _reservation.Dispose();
        _listener.Start();
        _loop = Task.Run(ServeAsync);
        return this;
    }

    /// <summary>Waits (bounded) until <paramref name="count"/> tokens were issued.</summary>
    public async Task WaitForIssuedAsync(int count, int timeoutMs = 20_000)
    {
        for (int waited = 0; Issued < count; waited += 20)
        {
            if (waited >= timeoutMs) throw new Xunit.Sdk.XunitException($"the token endpoint issued {Issued} tokens, expected {count}");
            await Task.Delay(20);
        }
    }

    private async Task ServeAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().WaitAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            using (context.Response)
            {
                string form;
                using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8)) form = await reader.ReadToEndAsync();
                string? authorization = context.Request.Headers["Authorization"];
                Requests.Enqueue((authorization, form));
                if (Stall is { } stall)
                {
                    try
                    {
                        await stall.Task.WaitAsync(_stopping.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
                if (AnswerDelayMs > 0)
                {
                    try
                    {
                        await Task.Delay(AnswerDelayMs, _stopping.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
                (int status, string body) = Answer(context.Request.HttpMethod, context.Request.ContentType, authorization, form);
                byte[] bytes = Encoding.UTF8.GetBytes(body);
                context.Response.StatusCode = status;
                context.Response.ContentType = "application/json";
                await context.Response.OutputStream.WriteAsync(bytes);
            }
        }
    }

    private (int Status, string Body) Answer(string method, string? contentType, string? authorization, string form)
    {
        Dictionary<string, string> fields = Parse(form);
        if (FailingStatus is int failing) return (failing, """{"error":"temporarily_unavailable"}""");
        string? grant = fields.GetValueOrDefault("grant_type");
        if (method != "POST" || contentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.Ordinal) != true
            || grant is not ("client_credentials" or ExchangeGrant))
            return (400, """{"error":"invalid_request"}""");
        string? id, secret;
        if (authorization is not null && authorization.StartsWith("Basic ", StringComparison.Ordinal))
        {
            string pair = Encoding.UTF8.GetString(Convert.FromBase64String(authorization["Basic ".Length..]));
            int colon = pair.IndexOf(':', StringComparison.Ordinal);
            id = Uri.UnescapeDataString(pair[..colon].Replace('+', ' '));
            secret = Uri.UnescapeDataString(pair[(colon + 1)..].Replace('+', ' '));
        }
        else
        {
            id = fields.GetValueOrDefault("client_id");
            secret = fields.GetValueOrDefault("client_secret");
        }
        if (id != ClientId || secret != ClientSecret) return (401, """{"error":"invalid_client"}""");
        if (grant == ExchangeGrant) return Exchange(fields);
        int n = Interlocked.Increment(ref _issued);
        string expires = ExpiresInSeconds is int s ? $",\"expires_in\":{s}" : "";
        return (200, $"{{\"access_token\":\"tok-{n}\",\"token_type\":\"bearer\"{expires}}}");
    }

    public const string ExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange";
    public const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";

    private (int Status, string Body) Exchange(Dictionary<string, string> fields)
    {
        if (fields.GetValueOrDefault("subject_token") is not { Length: > 0 } subject || fields.GetValueOrDefault("subject_token_type") is not { Length: > 0 })
            return (400, """{"error":"invalid_request"}""");
        if (RefusedSubjects.ContainsKey(subject)) return (400, """{"error":"invalid_grant","error_description":"subject not allowed"}""");
        if (fields.GetValueOrDefault("audience") is { } audience && RefusedAudiences.ContainsKey(audience))
            return (400, """{"error":"invalid_target","error_description":"audience not allowed"}""");
        int n = Interlocked.Increment(ref _issued);
        string token = $"ex-{n}";
        ExchangedFor[token] = subject;
        string expires = ExpiresInSeconds is int s ? $",\"expires_in\":{s}" : "";
        return (200, $"{{\"access_token\":\"{token}\",\"issued_token_type\":\"{AccessTokenType}\",\"token_type\":\"{ExchangedTokenType}\"{expires}}}");
    }

    public static Dictionary<string, string> Parse(string form)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in form.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0) continue;
            fields[Uri.UnescapeDataString(pair[..eq].Replace('+', ' '))] = Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
        }
        return fields;
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _reservation.Dispose();
        if (_listener.IsListening) _listener.Stop();
        if (_loop is not null) await _loop;
        _listener.Close();
        _stopping.Dispose();
    }
}
