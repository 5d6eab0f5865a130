using System.Collections.Concurrent;
using System.Net;

namespace FastMcp.Testing;

/// <summary>
/// A server that answers every request with a redirect to a second server on loopback (another port: another origin), and
/// that second server, which records whatever reaches it: a client that follows the redirect shows up in <see cref="Captured"/>
/// with the method, path, Authorization field and body it sent. Both listen on ports from <see cref="UnusedPort"/>.
/// </summary>
public sealed class RedirectTrap : IDisposable
{
    /// <summary>One request that reached the capturing server.</summary>
    public sealed record CapturedRequest(string Method, string Path, string? Authorization, int BodyLength);

    private readonly HttpListener _redirector = new();
    private readonly HttpListener _capture = new();
    private readonly Task _redirecting, _capturing;
    private readonly int _status;
    private readonly string _captureBody, _captureType;

    /// <param name="status">The redirect status (301, 302, 303, 307, 308).</param>
    /// <param name="captureBody">What the capturing server answers (200), so that a follower gets a plausible answer.</param>
    public RedirectTrap(int status = 307, string captureBody = "{}", string captureType = "application/json")
    {
        _status = status;
        _captureBody = captureBody;
        _captureType = captureType;
        Port = Start(_redirector);
        CapturePort = Start(_capture);
        _redirecting = Task.Run(() => ServeAsync(_redirector, redirect: true));
        _capturing = Task.Run(() => ServeAsync(_capture, redirect: false));
    }

    /// <summary>The redirecting server's port; <see cref="Url"/> is its base URL (no trailing slash).</summary>
    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}";

    public int CapturePort { get; }
    public string CaptureUrl => $"http://127.0.0.1:{CapturePort}";

    /// <summary>Requests the redirecting server answered.</summary>
    public int Redirected => Volatile.Read(ref _redirected);
    private int _redirected;

    public ConcurrentQueue<CapturedRequest> Captured { get; } = new();

    /// <summary>While set, the first server answers 200 with this body (JSON) instead of redirecting: a server that turns.</summary>
    public string? ServeDirectly { get; set; }

    private static int Start(HttpListener listener)
    {
        int port = UnusedPort.Pick();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        return port;
    }

    private async Task ServeAsync(HttpListener listener, bool redirect)
    {
        while (true)
        {
            HttpListenerContext context;
            try { context = await listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            try
            {
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                if (redirect && ServeDirectly is { } direct)
                {
                    byte[] answer = System.Text.Encoding.UTF8.GetBytes(direct);
                    context.Response.StatusCode = 200;
                    context.Response.ContentType = "application/json";
                    context.Response.ContentLength64 = answer.Length;
                    await context.Response.OutputStream.WriteAsync(answer);
                }
                else if (redirect)
                {
                    Interlocked.Increment(ref _redirected);
                    context.Response.StatusCode = _status;
                    context.Response.RedirectLocation = CaptureUrl + context.Request.Url!.PathAndQuery;
                    context.Response.ContentLength64 = 0;
                }
                else
                {
                    Captured.Enqueue(new CapturedRequest(context.Request.HttpMethod, context.Request.Url!.PathAndQuery, context.Request.Headers["Authorization"], (int)body.Length));
                    byte[] answer = System.Text.Encoding.UTF8.GetBytes(_captureBody);
                    context.Response.StatusCode = 200;
                    context.Response.ContentType = _captureType;
                    context.Response.ContentLength64 = answer.Length;
                    await context.Response.OutputStream.WriteAsync(answer);
                }
                context.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }

    public void Dispose()
    {
        _redirector.Close();
        _capture.Close();
        _ = _redirecting;
        _ = _capturing;
    }
}
