using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;

namespace FastMcp.Gateway.Forwarding;

/// <summary>
/// Sends the upstream a message of the gateway's own (the answer to a server request the policy denied) on a pooled
/// connection: a POST to the upstream's endpoint with the session header lines given, the gateway's credential and the
/// upstream's own header lines, as any forwarded request carries them; no client header is passed. The upstream's
/// answer (202 for a response) is read and dropped. Never retried: the upstream may have taken it.
/// </summary>
internal static class GatewayAnswerSender
{
    /// <returns>None and the upstream's status, or the error that kept the message from being delivered.</returns>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    public static async ValueTask<(ForwardingError Error, int Status)> PostAsync(Forwarder forwarder, HttpLimits limits, ReadOnlyMemory<byte> json,
        ReadOnlyMemory<byte> sessionLines, FastMcp.Identity.UpstreamCredential? credential, ReadOnlyMemory<byte> callerAuthorization, Tracing.TraceContext trace,
        int loop, CancellationToken ct)
    {
        UpstreamPool pool = forwarder.Pool;
        // With the credential of the client whose answer this is (a token exchange: its own exchanged token).
        byte[] credentialLine = [];
        if (credential is not null)
        {
            Identity.UpstreamCredentialLine acquired = await credential.AcquireAsync(callerAuthorization, ct).ConfigureAwait(false);
            if (!acquired.Ok) return (Forwarder.CredentialError(acquired.Failure), 0);
            credentialLine = acquired.Line;
        }
        UpstreamConnection connection;
        try
        {
            connection = await pool.RentAsync(loop, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return (ForwardingError.ResponseTimeout, 0);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return (ForwardingError.UpstreamUnreachable, 0);
        }
        bool returned = false;
        try
        {
            PipeWriter output = connection.Output;
            CoalescingBufferWriter writer = CoalescingBufferWriter.Begin(output);
            writer.Write("POST "u8);
            writer.Write(pool.Url.PathBytes);
            writer.Write(" HTTP/1.1\r\nHost: "u8);
            writer.Write(pool.Url.HostHeaderValue);
            writer.Write("\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nAccept-Encoding: identity\r\nContent-Length: "u8);
            Proxy.GatewayResponses.WriteNumber(writer, json.Length);
            writer.Write("\r\n"u8);
            if (trace.IsValid) trace.WriteHeaderLine(writer);
            writer.Write(sessionLines.Span);
            writer.Write(credentialLine);
            writer.Write(pool.UpstreamHeaderLines);
            writer.Write("\r\n"u8);
            writer.Write(json.Span);
            writer.End();
            if ((await output.FlushAsync(ct).ConfigureAwait(false)).IsCompleted) return (ForwardingError.UpstreamClosed, 0);
            (ForwardingError error, _) = await forwarder.ReadHeadAsync(connection, requestWasHead: false, ct).ConfigureAwait(false);
            if (error != ForwardingError.None) return (error, 0);
            int status = connection.ResponseHead.StatusCode;
            if (status == 401) credential?.ReportRejected(credentialLine, callerAuthorization.Span);
            // An answer to a response is 202 with no body; anything with a body is read (bounded) so the connection can be reused.
            using var drained = new PooledBufferWriter(0);
            BodyReadResult read = connection.ResponseHead.IsEventStream ? BodyReadResult.TooLarge : await BodyReader.ReadWholeAsync(connection, drained, limits, ct).ConfigureAwait(false);
            if (read != BodyReadResult.Complete || connection.ResponseHead.ConnectionClose) connection.Broken = true;
            pool.Return(connection);
            returned = true;
            return (ForwardingError.None, status);
        }
        catch (OperationCanceledException)
        {
            return (ForwardingError.ResponseTimeout, 0);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            return (ForwardingError.UpstreamClosed, 0);
        }
        finally
        {
            if (!returned) connection.Dispose();
        }
    }
}
