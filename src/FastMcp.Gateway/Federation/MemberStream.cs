using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;

namespace FastMcp.Gateway.Federation;

/// <summary>One event a member sent on its GET stream, as the member framed it (complete, not yet inspected).</summary>
/// <param name="Oversized">no event: the member's stream had an event that did not end within limits.maxResponseMessageBytes (its bytes are dropped)</param>
internal readonly record struct MemberEvent(int Stream, byte[] Bytes, bool Oversized = false);

/// <summary>
/// One member's GET event stream on a federated path: opened with the member's own session, then read event by event
/// into a channel that the client connection drains into the one stream the client sees (ClientConnection.FederatedStream.cs).
/// The connection is never reused: it ends with the stream, or is closed when the client leaves. Federated path only:
/// this allocates per event.
/// </summary>
internal sealed class MemberStream : IDisposable
{
    private readonly UpstreamConnection _connection;
    private readonly HttpLimits _limits;

    private MemberStream(UpstreamRoute member, int index, UpstreamConnection connection, HttpLimits limits)
    {
        Member = member;
        Index = index;
        _connection = connection;
        _limits = limits;
    }

    public UpstreamRoute Member { get; }

    /// <summary>The member's position in the federated route.</summary>
    public int Index { get; }

    /// <summary>
    /// The masking this member's events get for the client as its GET was decided: the allowing rule's profile, else the
    /// default (null: masking is off).
    /// </summary>
    public Stages.PanMasking? Masking { get; set; }

    // Set when the gateway ends this member's stream before the member does (it sent an event that must not be relayed).
    private readonly CancellationTokenSource _ended = new();

    /// <summary>True once <see cref="End"/> was called: events of this member still queued are not relayed.</summary>
    public bool Ended => _ended.IsCancellationRequested;

    /// <summary>Ends this member's stream: its pump stops reading and closes the connection (the rest of the stream unread).</summary>
    public void End() => _ended.Cancel();

    /// <summary>
    /// Sends GET with the member's session (and <paramref name="lastEventId"/>, when not empty, to resume one of its
    /// streams). A member that answers with anything but an identity-coded event stream (405 when it offers none) gives
    /// no stream: the status (0 when it was not reached) and the error say why.
    /// </summary>
    public static async Task<(MemberStream? Stream, int Status, ForwardingError Error)> OpenAsync(UpstreamRoute member, int index, HttpLimits limits,
        string? sessionId, string? protocolVersion, ReadOnlyMemory<byte> clientAddress, ReadOnlyMemory<byte> publicScheme, CancellationToken cancel,
        ReadOnlyMemory<byte> lastEventId = default, ReadOnlyMemory<byte> callerAuthorization = default)
    {
        // A credential without a line (an oauth source with no unexpired token, a token exchange that failed for this
        // caller): no stream is opened without it (fail closed).
        byte[] credentialLine = [];
        if (member.Credential is { } credential)
        {
            Identity.UpstreamCredentialLine acquired = await credential.AcquireAsync(callerAuthorization, cancel).ConfigureAwait(false);
            if (!acquired.Ok) return (null, 0, Forwarder.CredentialError(acquired.Failure));
            credentialLine = acquired.Line;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(member.Options.ResponseTimeoutMs);
        (UpstreamConnection? rented, ForwardingError rentError) = await MemberCall.RentAsync(member, timeout.Token).ConfigureAwait(false);
        if (rented is not { } connection) return (null, 0, rentError);
        bool kept = false;
        try
        {
            MemberCall.WriteHead(connection.Output, member, "GET", -1, sessionId, protocolVersion, clientAddress.Span, publicScheme.Span, credentialLine, lastEventId.Span);
            try
            {
                if ((await connection.Output.FlushAsync(timeout.Token).ConfigureAwait(false)).IsCompleted) return (null, 0, ForwardingError.UpstreamClosed);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
            {
                return (null, 0, ForwardingError.UpstreamClosed);
            }
            (ForwardingError error, _) = await member.Forwarder.ReadHeadAsync(connection, requestWasHead: false, timeout.Token).ConfigureAwait(false);
            if (error != ForwardingError.None) return (null, 0, error);
            member.Health.ReportReachable();
            if (connection.ResponseHead.StatusCode == 401) member.Credential?.ReportRejected(credentialLine, callerAuthorization.Span);
            HttpResponseHead head = connection.ResponseHead;
            if (head.StatusCode != 200 || !head.IsEventStream || head.Framing == BodyFraming.None) return (null, head.StatusCode, ForwardingError.None);
            // Compressed events could not be inspected: no stream rather than an unread one.
            if (!ContentCoding.IsIdentity(head.Headers)) return (null, head.StatusCode, ForwardingError.EncodedResponse);
            kept = true;
            return (new MemberStream(member, index, connection, limits), 200, ForwardingError.None);
        }
        finally
        {
            if (!kept) connection.Dispose();
        }
    }

    /// <summary>
    /// Reads events until the member ends its stream, breaks it, sends an event larger than
    /// limits.maxResponseMessageBytes, or <paramref name="stop"/> is cancelled. Each complete event goes to
    /// <paramref name="events"/> (waiting while the client is slow: a bounded channel is the back-pressure).
    /// </summary>
    public async Task PumpAsync(ChannelWriter<MemberEvent> events, int stream, CancellationToken stop)
    {
        HttpResponseHead head = _connection.ResponseHead;
        PipeReader input = _connection.Input;
        using var buffer = new PooledBufferWriter(4 * 1024);
        var decoder = new ChunkedDecoder();
        var splitter = new SseEventSplitter();
        long remaining = head.Framing == BodyFraming.ContentLength ? head.ContentLength : long.MaxValue;
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(stop, _ended.Token);
        stop = reading.Token;
        try
        {
            bool done = false;
            while (!done)
            {
                ReadResult result = await input.ReadAsync(stop).ConfigureAwait(false);
                ReadOnlySequence<byte> bytes = result.Buffer;
                SequencePosition consumed;
                if (head.Framing == BodyFraming.Chunked)
                {
                    var reader = new SequenceReader<byte>(bytes);
                    OperationStatus status = decoder.Decode(ref reader, buffer, _limits, out _);
                    consumed = reader.Position;
                    done = status is OperationStatus.Done or OperationStatus.InvalidData;
                }
                else
                {
                    long take = Math.Min(bytes.Length, remaining);
                    foreach (ReadOnlyMemory<byte> segment in bytes.Slice(0, take)) buffer.Write(segment.Span);
                    remaining -= take;
                    consumed = bytes.GetPosition(take);
                    done = remaining == 0;
                }
                input.AdvanceTo(consumed, bytes.End);
                done |= result.IsCompleted;
                int length;
                while (buffer.WrittenCount > 0 && (length = splitter.TryFindEventEnd(buffer.WrittenSpan, done)) > 0)
                {
                    splitter.Reset();
                    await events.WriteAsync(new MemberEvent(stream, buffer.WrittenSpan[..length].ToArray()), stop).ConfigureAwait(false);
                    buffer.RemoveFront(length);
                }
                // An event that never ends within the bound ends the member's stream (as on a plain path), which records why.
                if (!done && buffer.WrittenCount > _limits.MaxResponseMessageBytes)
                {
                    buffer.Clear();
                    await events.WriteAsync(new MemberEvent(stream, [], Oversized: true), stop).ConfigureAwait(false);
                    done = true;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or InvalidOperationException or ChannelClosedException)
        {
            // Stopped (the client left, or the session's stream ended) or the member broke its stream: the stream ends.
        }
        finally
        {
            // Ended by the gateway: the connection closes now (this reader is done with it), not when the client's stream ends.
            if (Ended) _connection.Dispose();
        }
    }

    public void Dispose()
    {
        _connection.Dispose();
        _ended.Dispose();
    }
}
