using System.Net;
using System.Net.Sockets;

namespace FastMcp.Audit.Tests;

/// <summary>
/// A witness on 127.0.0.1 (ephemeral port): records every POSTed checkpoint note and its
/// Authorization header, and answers GET with the newest note (as a witness that serves its copy).
/// </summary>
public sealed class CheckpointWitness : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private readonly object _gate = new();
    private readonly List<byte[]> _notes = new();

    public string Url { get; }
    public string? LastAuthorization { get; private set; }
    /// <summary>Status answered to POSTs (set to 500 to make the witness fail).</summary>
    public int PostStatus { get; set; } = 204;

    public CheckpointWitness()
    {
        int port = UnusedPort.Pick();
        Url = $"http://127.0.0.1:{port}/witness/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public List<byte[]> Notes
    {
        get { lock (_gate) return [.. _notes]; }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            if (context.Request.HttpMethod == "POST")
            {
                LastAuthorization = context.Request.Headers["Authorization"];
                if (PostStatus < 300) lock (_gate) _notes.Add(body.ToArray());
                context.Response.StatusCode = PostStatus;
            }
            else
            {
                byte[]? newest;
                lock (_gate) newest = _notes.Count == 0 ? null : _notes[^1];
                context.Response.StatusCode = newest is null ? 404 : 200;
                if (newest is not null) await context.Response.OutputStream.WriteAsync(newest);
            }
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
