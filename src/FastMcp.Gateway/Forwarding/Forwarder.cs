using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;
using System.Runtime.CompilerServices;

namespace FastMcp.Gateway.Forwarding;

/// <summary>
/// Sends one request to the upstream over a pooled connection and waits for the response head.
/// A reused connection is retried once on a fresh one only when sending the request failed: the
/// upstream had already closed it, so no whole request reached it. Once the request was handed to
/// the socket, the upstream may have run it even if it closes without a byte of answer (it could
/// have crashed after acting): that is a 502, never a second send (an approved call would run twice). The call's in-flight
/// entry, when it has one, says when the request is written, and refuses the write of a call its caller withdrew.
/// </summary>
internal sealed class Forwarder(UpstreamPool pool, HttpLimits limits)
{
    public UpstreamPool Pool => pool;

    /// <summary>
    /// Writes the request to a pooled connection (retried once on a new one when a reused one could not take it). With
    /// Error None the request was sent, and the caller awaits the response head (<see cref="TakeHead"/> per read, or
    /// <see cref="ReadHeadAsync"/>) and then calls <see cref="EndHeadWait"/> with CredentialLine. The head is not read
    /// here: every forward suspends on it, and an async level between the caller and that read cost a box, a
    /// continuation and a completion per request; this part completes at once when a connection is idle and the socket
    /// takes the request.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    public async ValueTask<(ForwardingError Error, UpstreamConnection? Connection, byte[] CredentialLine)> SendRequestAsync(HttpRequestHead request,
        ReadOnlySequence<byte> body, bool hasBody, byte[] clientAddress, byte[] publicScheme, FastMcp.Identity.UpstreamCredential? credential,
        Tracing.TraceContext trace, int clientLoop, CancellationToken responseTimeout, byte[]? memberSessionLine = null, ReadOnlyMemory<byte> sessionLine = default,
        InFlight.InFlightCall? inFlight = null)
    {
        // A credential without a line (an oauth source with no unexpired token, a token exchange that failed for this
        // caller): refused before a connection is taken (fail closed). A cached line completes synchronously.
        byte[] credentialLine = [];
        if (credential is not null)
        {
            Identity.UpstreamCredentialLine acquired = await credential.AcquireAsync(request.Headers.GetMemory(KnownHeader.Authorization), responseTimeout).ConfigureAwait(false);
            if (!acquired.Ok) return (CredentialError(acquired.Failure), null, credentialLine);
            credentialLine = acquired.Line;
        }
        for (int attempt = 0; ; attempt++)
        {
            UpstreamConnection connection;
            try
            {
                connection = await pool.RentAsync(clientLoop, responseTimeout).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return (ForwardingError.ResponseTimeout, null, credentialLine);
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                return (ForwardingError.UpstreamUnreachable, null, credentialLine);
            }

            // The last moment a held call's own cancellation can withdraw it: once its first byte is written, it is forwarded
            // and the cancellation follows it (InFlight/InFlightState.cs).
            if (inFlight is not null && !inFlight.TryBeginWriting())
            {
                pool.Return(connection);
                return (ForwardingError.Withdrawn, null, credentialLine);
            }
            bool reused = connection.Reused;
            PipeWriter output = connection.Output;
            // Head and body advance the pipe once (Buffers.CoalescingBufferWriter).
            Buffers.CoalescingBufferWriter writer = Buffers.CoalescingBufferWriter.Begin(output);
            int notAllowed = UpstreamRequestWriter.WriteHead(writer, request, pool.Url, clientAddress, publicScheme, hasBody ? body.Length : -1,
                credentialLine, trace, memberSessionLine, pool.UpstreamHeaderLines, ForwardsCookies(memberSessionLine),
                pool.ForwardedHeaders, sessionLine.Span);
            if (notAllowed >= 0) pool.DroppedHeaders?.Report(request.Headers.NameAt(notAllowed), federatedPath: memberSessionLine is not null);
            foreach (ReadOnlyMemory<byte> segment in body) writer.Write(segment.Span);
            writer.End();
            bool sent;
            try
            {
                sent = !(await output.FlushAsync(responseTimeout).ConfigureAwait(false)).IsCompleted;
            }
            catch (OperationCanceledException)
            {
                connection.Dispose();
                return (ForwardingError.ResponseTimeout, null, credentialLine);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                sent = false;
            }
            if (!sent)
            {
                connection.Dispose();
                if (reused && attempt == 0) continue;
                return (ForwardingError.UpstreamClosed, null, credentialLine);
            }
            inFlight?.Written();
            return (ForwardingError.None, connection, credentialLine);
        }
    }

    /// <summary>
    /// The wait for the response head of a request <see cref="SendRequestAsync"/> sent is over (<paramref name="error"/> says
    /// how): the connection with its head, or null once a connection that failed was closed. A 401 to the gateway's own
    /// token renews it (once); the request is not repeated, it may not be idempotent.
    /// </summary>
    public static UpstreamConnection? EndHeadWait(UpstreamConnection connection, ForwardingError error, HttpRequestHead request,
        FastMcp.Identity.UpstreamCredential? credential, byte[] credentialLine)
    {
        if (error == ForwardingError.None && connection.ResponseHead.StatusCode == 401) credential?.ReportRejected(credentialLine, request.Headers.Get(KnownHeader.Authorization));
        if (error == ForwardingError.None) return connection;
        connection.Dispose();
        return null;
    }

    /// <summary>The forwarding error of a credential that gave no line: the endpoint refused this caller (403), or none was to be had (503).</summary>
    internal static ForwardingError CredentialError(Identity.UpstreamCredentialFailure failure) =>
        failure == Identity.UpstreamCredentialFailure.Refused ? ForwardingError.UpstreamCredentialRefused : ForwardingError.UpstreamCredentialUnavailable;

    /// <summary>
    /// The upstream's forwardCookies (read at each request: a reload may change it), never on a federated path: there the
    /// client's cookies were set for the path, not for this member (a member's cookie would reach the others).
    /// </summary>
    private bool ForwardsCookies(byte[]? memberSessionLine) => memberSessionLine is null && pool.ForwardsCookies;

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    internal async ValueTask<(ForwardingError, bool SawBytes)> ReadHeadAsync(UpstreamConnection connection, bool requestWasHead, CancellationToken ct)
    {
        PipeReader input = connection.Input;
        var framer = new HeadFramer();
        bool sawBytes = false;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (ReadFailure(e) is { } failure)
            {
                return (failure, sawBytes);
            }
            if (TakeHead(connection, result, ref framer, requestWasHead, ref sawBytes, out ForwardingError error)) return (error, sawBytes);
        }
    }

    /// <summary>The forwarding error of a read of the response head that threw; null for an exception that is not the upstream's doing.</summary>
    internal static ForwardingError? ReadFailure(Exception e) => e switch
    {
        OperationCanceledException => ForwardingError.ResponseTimeout,
        IOException or SocketException or ObjectDisposedException => ForwardingError.UpstreamClosed,
        _ => null,
    };

    /// <summary>
    /// One read's worth of waiting for the response head: true when the wait is over (<paramref name="error"/> says how),
    /// false to read again (no head yet, or an interim 1xx response was skipped).
    /// </summary>
    internal bool TakeHead(UpstreamConnection connection, in ReadResult result, ref HeadFramer framer, bool requestWasHead, ref bool sawBytes, out ForwardingError error)
    {
        PipeReader input = connection.Input;
        ReadOnlySequence<byte> buffer = result.Buffer;
        sawBytes |= !buffer.IsEmpty;
        long headLength = framer.TryFindEnd(buffer, limits.MaxHeadBytes);
        if (headLength > 0)
        {
            HttpRejectReason reason = connection.ResponseHead.Parse(buffer.Slice(0, headLength), requestWasHead);
            input.AdvanceTo(buffer.GetPosition(headLength));
            sawBytes = true;
            error = ForwardingError.None;
            if (reason != HttpRejectReason.None) error = ForwardingError.InvalidResponse;
            else
            {
                int status = connection.ResponseHead.StatusCode;
                // Interim responses (100, 102, 103) are not relayed; the final one follows.
                if (status is >= 100 and < 200 && status != 101)
                {
                    framer.Reset();
                    return false;
                }
                if (status == 101) error = ForwardingError.InvalidResponse;
            }
            return true;
        }
        if (headLength < 0)
        {
            input.AdvanceTo(buffer.End);
            sawBytes = true;
            error = ForwardingError.InvalidResponse;
            return true;
        }
        input.AdvanceTo(buffer.Start, buffer.End);
        error = ForwardingError.UpstreamClosed;
        return result.IsCompleted;
    }
}
