using System.Buffers;
using System.IO.Pipelines;
using FastMcp.Gateway.Stages;
using FastMcp.Http;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// The request head, read by <see cref="RunAsync"/> itself: a keep-alive connection waits for its next request in
/// that one async level, where an async method of its own for the head suspended with it at every request (a box,
/// a continuation and a completion each). These are the synchronous steps of that wait: one read's worth of
/// framing at a time, as <c>Forwarder.TakeHead</c> does for an upstream's response head.
/// </summary>
internal sealed partial class ClientConnection
{
    /// <summary>Where the wait for a request head stands after one read.</summary>
    private enum RequestHeadStep : byte
    {
        /// <summary>No whole head yet: read again.</summary>
        ReadMore,
        /// <summary>The head was parsed into <see cref="_request"/>: the request is handled.</summary>
        Parsed,
        /// <summary>The connection ends with nothing to answer (closed, idle at a stop, idle past its deadline).</summary>
        Ended,
        /// <summary>The connection ends with <see cref="_headRejection"/> answered.</summary>
        Rejected,
    }

    private HeadFramer _headFramer;
    // A request has begun (a byte other than the line breaks RFC 9112 2.2 lets a client send before it).
    private bool _sawHeadBytes;
    private HttpRejectReason _headRejection;

    /// <summary>Before the first read of a request head: its stage, its deadline, and the connection marked idle.</summary>
    private void BeginRequestHead()
    {
        _exchange.Stage = ExchangeStage.Frame;
        _headFramer = default;
        _sawHeadBytes = false;
        // Until a first request has begun, the connection has only FirstRequestMs to say something.
        ArmTimer(_servedRequest ? _rt.Options.Timeouts.KeepAliveMs : _rt.Options.Timeouts.FirstRequestMs);
        Volatile.Write(ref _idle, 1);
    }

    /// <summary>The head's deadline passed: a head that had begun is answered 408, an idle connection just ends.</summary>
    private RequestHeadStep RequestHeadTimedOut()
    {
        if (!_sawHeadBytes) return RequestHeadStep.Ended;
        _headRejection = HttpRejectReason.HeadTimeout;
        return RequestHeadStep.Rejected;
    }

    /// <summary>One read's worth of waiting for the request head (the read's buffer is advanced over or kept here).</summary>
    private RequestHeadStep TakeRequestHead(in ReadResult result)
    {
        if (result.IsCanceled)
        {
            // Shutdown: an idle connection ends; one whose request has begun finishes it.
            // A cancel outside shutdown is a held approval's leftover watch: read on.
            if (!_sawHeadBytes && _rt.Stopping) return RequestHeadStep.Ended;
            _input.AdvanceTo(result.Buffer.Start);
            return RequestHeadStep.ReadMore;
        }
        ReadOnlySequence<byte> buffer = result.Buffer;
        if (!_sawHeadBytes)
        {
            // RFC 9112 2.2: empty lines before a request line are ignored.
            long skip = CountLeadingLineBreaks(buffer);
            if (skip > 0)
            {
                buffer = buffer.Slice(skip);
            }
            if (!buffer.IsEmpty)
            {
                _sawHeadBytes = true;
                Volatile.Write(ref _idle, 0);
                ArmTimer(_rt.Options.Timeouts.RequestHeadersMs);
            }
        }
        long headLength = buffer.IsEmpty ? 0 : _headFramer.TryFindEnd(buffer, _rt.Limits.MaxHeadBytes);
        if (headLength > 0)
        {
            HttpRejectReason reason = _request.Parse(buffer.Slice(0, headLength));
            _input.AdvanceTo(buffer.GetPosition(headLength));
            if (reason == HttpRejectReason.None) return RequestHeadStep.Parsed;
            _headRejection = reason;
            return RequestHeadStep.Rejected;
        }
        if (headLength < 0)
        {
            _input.AdvanceTo(buffer.End);
            _headRejection = HttpRejectReason.HeadersTooLarge;
            return RequestHeadStep.Rejected;
        }
        if (result.IsCompleted)
        {
            _input.AdvanceTo(buffer.End);
            return RequestHeadStep.Ended;
        }
        _input.AdvanceTo(buffer.Start, buffer.End);
        return RequestHeadStep.ReadMore;
    }

    private static long CountLeadingLineBreaks(in ReadOnlySequence<byte> buffer)
    {
        long n = 0;
        foreach (ReadOnlyMemory<byte> segment in buffer)
        {
            ReadOnlySpan<byte> span = segment.Span;
            int i = span.IndexOfAnyExcept((byte)'\r', (byte)'\n');
            if (i >= 0) return n + i;
            n += span.Length;
        }
        return n;
    }
}
