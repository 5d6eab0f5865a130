using FastMcp.Gateway.Hosting;
using FastMcp.Http;
using HttpMethod = FastMcp.Http.HttpMethod;

namespace FastMcp.Gateway.Admin;

/// <summary>
/// The admin listener's routes: /healthz (the process serves) and /readyz (it accepts traffic:
/// listeners bound and not shutting down).
/// </summary>
internal sealed class AdminEndpoints(Func<bool> isReady)
{
    private static readonly byte[] Ok = """{"status":"ok"}"""u8.ToArray();
    private static readonly byte[] NotReady = """{"status":"not ready"}"""u8.ToArray();
    private static readonly byte[] NotFound = """{"error":"not found"}"""u8.ToArray();

    public LocalResponse Handle(HttpRequestHead request, ReadOnlyMemory<byte> body)
    {
        if (request.Method is not (HttpMethod.Get or HttpMethod.Head)) return new LocalResponse(405, "application/json", NotFound, "Allow: GET\r\n");
        if (request.Path.SequenceEqual("/healthz"u8)) return new LocalResponse(200, "application/json", Ok);
        if (request.Path.SequenceEqual("/readyz"u8)) return isReady() ? new LocalResponse(200, "application/json", Ok) : new LocalResponse(503, "application/json", NotReady);
        return new LocalResponse(404, "application/json", NotFound);
    }
}
