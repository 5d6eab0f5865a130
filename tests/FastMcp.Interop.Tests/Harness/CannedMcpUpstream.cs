using System.Net;
using System.Text;
using System.Text.Json;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>
/// A minimal MCP upstream on 127.0.0.1 (HttpListener): every JSON-RPC request gets a small text
/// result with its own id, and every request that reaches it is counted, so a test can prove what
/// the gateway forwarded and what it did not.
/// </summary>
internal sealed class CannedMcpUpstream : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private int _received;

    public CannedMcpUpstream()
    {
        Url = new Uri($"http://127.0.0.1:{UnusedPort.Pick()}/mcp/");
        _listener.Prefixes.Add(Url.ToString());
        _listener.Start();
        _ = Task.Run(ServeAsync);
    }

    public Uri Url { get; }

    /// <summary>Requests that reached the upstream so far.</summary>
    public int Received => Volatile.Read(ref _received);

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            Interlocked.Increment(ref _received);
            try
            {
                using var doc = await JsonDocument.ParseAsync(context.Request.InputStream);
                string id = doc.RootElement.GetProperty("id").GetRawText();
                byte[] body = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}}");
                context.Response.ContentType = "application/json";
                context.Response.ContentLength64 = body.Length;
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
            catch (Exception)
            {
                context.Response.Abort();
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        _stop.Dispose();
    }
}
