using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Tasks.Sources;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// The send side of a plain socket (issue #14): a PipeWriter whose flush sends on the flushing thread, straight
/// from the buffers the connection wrote. A Pipe between the connection and a send loop took its lock on every
/// GetMemory, Advance and Flush and again on the loop's Read and AdvanceTo, and resumed the loop's state machine:
/// about 1.5 µs per message in the pass-through profile. What the socket does not take at once (a slow peer) is
/// sent by a loop that waits for the socket, and a flush is held (back-pressure) while more than the pause
/// threshold is flushed and unsent, released below the resume threshold: the bound the Pipe kept.
/// </summary>
/// <remarks>
/// One writer thread at a time (the PipeWriter contract). When the socket takes everything, nothing else touches
/// the buffers and no lock is taken for them; while a background send runs, it and the writer share the segment
/// list under <see cref="_gate"/>: the writer appends at the tail, the sender consumes from the head and never
/// recycles the segment the writer is filling.
/// </remarks>
internal sealed class SocketSendWriter : PipeWriter, IValueTaskSource<FlushResult>
{
    private sealed class Segment
    {
        public byte[] Array = [];
        public int Start; // first byte not yet sent
        public int End;   // end of what the writer advanced over
        public Segment? Next;
    }

    /// <summary>Smallest buffer handed out: one usual MCP message (PipeSettings' segment size).</summary>
    private const int MinimumSegment = 4096;

    /// <summary>Several segments up to this size are joined by a copy and sent in one call (one system call, no gather list).</summary>
    private const int JoinBelow = 64 * 1024;

    private const int KeptSegments = 4;

    private readonly SocketPipe _socket;
    private readonly long _pauseAt;
    private readonly long _resumeBelow;
    private readonly object _gate = new();

    private Segment? _head;       // oldest segment holding unsent bytes
    private Segment? _tail;       // segment the writer fills
    private Segment? _flushedSeg; // flushed bytes end in this segment, at _flushedEnd
    private int _flushedEnd;
    private long _unflushed;      // advanced, not flushed
    private long _queued;         // flushed, not sent
    private bool _sending;        // a send owns the head (the flushing thread, or the background loop)
    private bool _completed;      // the writer completed
    private bool _finished;       // shut down (or failed) and buffers released
    private bool _failed;         // the socket failed or was closed: flushes report the peer gone
    private bool _cancelNext;     // CancelPendingFlush with no flush held: the next flush returns cancelled

    private Segment? _spare;      // recycled segment objects (arrays go back to the pool)
    private int _spareCount;

    // A held flush (back-pressure).
    private ManualResetValueTaskSourceCore<FlushResult> _held = new() { RunContinuationsAsynchronously = true };
    private bool _holding;
    private CancellationTokenRegistration _heldCancel;

    public SocketSendWriter(SocketPipe socket, long pauseWriterThreshold, long resumeWriterThreshold)
    {
        _socket = socket;
        _pauseAt = pauseWriterThreshold > 0 ? pauseWriterThreshold : long.MaxValue;
        _resumeBelow = resumeWriterThreshold > 0 ? resumeWriterThreshold : 1;
    }

    public override bool CanGetUnflushedBytes => true;

    /// <summary>Bytes advanced over and not yet flushed.</summary>
    public override long UnflushedBytes => _unflushed;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        Segment tail = Writable(sizeHint);
        return tail.Array.AsMemory(tail.End);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        Segment tail = Writable(sizeHint);
        return tail.Array.AsSpan(tail.End);
    }

    public override void Advance(int bytes)
    {
        Segment? tail = _tail;
        if (tail is null || bytes < 0 || bytes > tail.Array.Length - tail.End)
            throw new ArgumentOutOfRangeException(nameof(bytes), "Advance beyond the memory handed out");
        tail.End += bytes;
        _unflushed += bytes;
    }

    private Segment Writable(int sizeHint)
    {
        if (_completed) throw new InvalidOperationException("Writing is not allowed after the writer was completed.");
        int need = Math.Max(sizeHint, 1);
        Segment? tail = _tail;
        if (tail is not null && tail.Array.Length - tail.End >= need) return tail;
        Segment next;
        if (Volatile.Read(ref _sending))
        {
            // The background sender walks the list and recycles segments into the spares: both under the gate.
            lock (_gate)
            {
                next = NewSegment(Math.Max(need, MinimumSegment));
                Link(next);
            }
        }
        else
        {
            next = NewSegment(Math.Max(need, MinimumSegment));
            Link(next);
        }
        return next;
    }

    private void Link(Segment next)
    {
        if (_tail is null)
        {
            _head = next;
        }
        else
        {
            _tail.Next = next;
        }
        _tail = next;
    }

    private Segment NewSegment(int size)
    {
        Segment? segment = _spare;
        if (segment is not null)
        {
            _spare = segment.Next;
            _spareCount--;
            segment.Next = null;
        }
        else
        {
            segment = new Segment();
        }
        segment.Array = ArrayPool<byte>.Shared.Rent(size);
        segment.Start = 0;
        segment.End = 0;
        return segment;
    }

    private void Recycle(Segment segment)
    {
        ArrayPool<byte>.Shared.Return(segment.Array);
        segment.Array = [];
        segment.Next = null;
        if (_spareCount >= KeptSegments) return;
        segment.Next = _spare;
        _spare = segment;
        _spareCount++;
    }

    // Flushed now ends where the writer is; under the gate or with no background send.
    private void Commit()
    {
        if (_tail is null || _unflushed == 0) return;
        _flushedSeg = _tail;
        _flushedEnd = _tail.End;
        _queued += _unflushed;
        _unflushed = 0;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        bool send = false;
        ValueTask<int> inFlight = default;
        byte[]? joined = null;
        lock (_gate)
        {
            if (_completed) throw new InvalidOperationException("Flushing is not allowed after the writer was completed.");
            Commit();
            if (!_sending && !_failed && _queued > 0)
            {
                _sending = true;
                send = SendWhileTaken(out inFlight, out joined);
            }
        }
        if (send) SendOnWriter(inFlight, joined);
        // Nothing to report and nothing to hold (the usual flush): no lock. Only this thread adds to _queued, so a
        // value read late is never below the true one; a cancel or failure that lands meanwhile is one that came
        // just after this flush, which the next flush reports.
        if (!Volatile.Read(ref _cancelNext) && !Volatile.Read(ref _failed) && Volatile.Read(ref _queued) < _pauseAt) return default;
        lock (_gate)
        {
            if (_cancelNext)
            {
                // CancelPendingFlush came while no flush was held: this one reports it (what it flushed is still sent).
                _cancelNext = false;
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: true, isCompleted: _failed));
            }
            if (_failed) return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
            if (_queued < _pauseAt) return default;
            // More than the pause threshold is unsent: the flush is held until the socket takes enough of it.
            cancellationToken.ThrowIfCancellationRequested();
            _held.Reset();
            _holding = true;
            if (cancellationToken.CanBeCanceled)
                _heldCancel = cancellationToken.UnsafeRegister(static (state, token) => ((SocketSendWriter)state!).CancelHeld(token), this);
            return new ValueTask<FlushResult>(this, _held.Version);
        }
    }

    /// <summary>
    /// Starts the next send of what is flushed, or ends the send (<see cref="Idle"/>) when everything is sent: false
    /// then. Under the gate, by the thread that owns the send.
    /// </summary>
    private bool StartNextSend(out ValueTask<int> inFlight, out byte[]? joined)
    {
        if (!NextChunk(out ReadOnlyMemory<byte> chunk, out joined))
        {
            Idle(onWriter: true);
            inFlight = default;
            return false;
        }
        inFlight = _socket.SendSomeAsync(chunk);
        return true;
    }

    /// <summary>
    /// Starts sends, consuming each the socket took at once and starting the next, under the caller's taking of the gate
    /// (a flush the socket takes whole takes the gate once, not once more to consume it). True with a send that has to
    /// wait or failed, for <see cref="SendOnWriter"/> outside the gate; false once the send ended (<see cref="Idle"/>).
    /// </summary>
    private bool SendWhileTaken(out ValueTask<int> inFlight, out byte[]? joined)
    {
        while (StartNextSend(out inFlight, out joined))
        {
            if (!inFlight.IsCompletedSuccessfully) return true;
            int sent = inFlight.Result;
            Return(joined);
            Consume(sent);
        }
        return false;
    }

    /// <summary>
    /// Sends from the flushing (or completing) thread while the socket takes everything at once; a send that
    /// has to wait continues in the background. The caller set <see cref="_sending"/> and started the first send;
    /// each send's bytes are consumed and the next started under one taking of the gate.
    /// </summary>
    private void SendOnWriter(ValueTask<int> inFlight, byte[]? joined)
    {
        while (true)
        {
            if (!inFlight.IsCompleted)
            {
                _ = SendInBackgroundAsync(inFlight, joined);
                return;
            }
            int sent;
            try
            {
                sent = inFlight.Result;
            }
            catch (Exception)
            {
                Return(joined);
                SendFailed();
                return;
            }
            Return(joined);
            lock (_gate)
            {
                Consume(sent);
                if (!StartNextSend(out inFlight, out joined)) return;
            }
        }
    }

    /// <summary>The socket could not take everything: sends the rest as it drains, releasing a held flush on the way.</summary>
    private async Task SendInBackgroundAsync(ValueTask<int> inFlight, byte[]? joined)
    {
        try
        {
            while (true)
            {
                int sent = await inFlight.ConfigureAwait(false);
                Return(joined);
                joined = null;
                bool release;
                lock (_gate)
                {
                    Consume(sent);
                    release = _holding && _queued < _resumeBelow;
                    if (!NextChunk(out ReadOnlyMemory<byte> chunk, out joined))
                    {
                        Idle(onWriter: false);
                        break;
                    }
                    inFlight = _socket.SendSomeAsync(chunk);
                }
                if (release) ReleaseHeld(new FlushResult(isCanceled: false, isCompleted: false));
            }
            ReleaseHeld(new FlushResult(isCanceled: false, isCompleted: false));
        }
        catch (Exception)
        {
            Return(joined);
            SendFailed();
        }
    }

    /// <summary>
    /// The next bytes to send: the head segment's flushed bytes, or several segments joined into one pooled array
    /// (up to <see cref="JoinBelow"/>). False when everything flushed is sent. Under the gate.
    /// </summary>
    private bool NextChunk(out ReadOnlyMemory<byte> chunk, out byte[]? joined)
    {
        joined = null;
        chunk = default;
        if (_queued == 0 || _failed) return false;
        // Skip (and recycle) fully sent segments the writer has moved past.
        while (_head is not null && _head != _flushedSeg && _head.Start == _head.End)
        {
            Segment done = _head;
            _head = done.Next;
            Recycle(done);
        }
        Segment head = _head!;
        int headLimit = head == _flushedSeg ? _flushedEnd : head.End;
        int headBytes = headLimit - head.Start;
        if (head == _flushedSeg || _queued == headBytes || headBytes >= JoinBelow)
        {
            chunk = head.Array.AsMemory(head.Start, headBytes);
            return true;
        }
        // A head written in one segment and its body in the next (or a body across several): one send.
        int length = (int)Math.Min(_queued, JoinBelow);
        joined = ArrayPool<byte>.Shared.Rent(length);
        int copied = 0;
        for (Segment? s = head; s is not null && copied < length; s = s.Next)
        {
            int limit = s == _flushedSeg ? _flushedEnd : s.End;
            int take = Math.Min(limit - s.Start, length - copied);
            s.Array.AsSpan(s.Start, take).CopyTo(joined.AsSpan(copied));
            copied += take;
            if (s == _flushedSeg) break;
        }
        chunk = joined.AsMemory(0, copied);
        return true;
    }

    /// <summary><paramref name="sent"/> bytes left: advances the head over them. Under the gate.</summary>
    private void Consume(int sent)
    {
        _socket.AddBytesSent(sent);
        _queued -= sent;
        while (sent > 0)
        {
            Segment head = _head!;
            int limit = head == _flushedSeg ? _flushedEnd : head.End;
            int take = Math.Min(sent, limit - head.Start);
            head.Start += take;
            sent -= take;
            if (head.Start == limit && head != _flushedSeg && head != _tail)
            {
                _head = head.Next;
                Recycle(head);
            }
        }
    }

    /// <summary>
    /// The send ends (everything flushed is sent, or the socket failed); a completed writer's socket is shut down
    /// for sending. On the writer's own thread (inside its flush) it holds no memory, so an idle connection gives its
    /// send buffers back to the pool; the background loop leaves the segment the writer may be filling. Under the gate.
    /// </summary>
    private void Idle(bool onWriter)
    {
        _sending = false;
        if (_completed)
        {
            Finish(shutdown: true);
            return;
        }
        if (onWriter && _queued == 0 && _unflushed == 0) ReleaseAll();
    }

    /// <summary>Gives every buffer back to the pool and empties the list. Under the gate, with no send running.</summary>
    private void ReleaseAll()
    {
        for (Segment? s = _head; s is not null;)
        {
            Segment? next = s.Next;
            Recycle(s);
            s = next;
        }
        _head = _tail = _flushedSeg = null;
        _flushedEnd = 0;
        _queued = 0;
    }

    private static void Return(byte[]? joined)
    {
        if (joined is not null) ArrayPool<byte>.Shared.Return(joined);
    }

    /// <summary>Shuts down (or not, after a failure) and releases the buffers, once. Under the gate.</summary>
    private void Finish(bool shutdown)
    {
        if (_finished) return;
        _finished = true;
        ReleaseAll();
        if (shutdown && !_failed) _socket.ShutdownSend();
    }

    /// <summary>A send failed (reset, closed): what is unsent is dropped, and flushes report the peer gone.</summary>
    private void SendFailed()
    {
        lock (_gate)
        {
            _failed = true;
            _sending = false;
            if (_completed) Finish(shutdown: false);
        }
        ReleaseHeld(new FlushResult(isCanceled: false, isCompleted: true));
    }

    /// <summary>
    /// The socket is closing (disposed, or it failed before the loops started): flushes report the peer gone. A send in
    /// flight fails on its own and releases the buffers; otherwise a completed writer's are released here.
    /// </summary>
    internal void Abort()
    {
        lock (_gate)
        {
            _failed = true;
            if (_completed && !_sending) Finish(shutdown: false);
        }
        ReleaseHeld(new FlushResult(isCanceled: false, isCompleted: true));
    }

    public override void CancelPendingFlush()
    {
        lock (_gate)
        {
            if (!_holding)
            {
                _cancelNext = true;
                return;
            }
        }
        ReleaseHeld(new FlushResult(isCanceled: true, isCompleted: false));
    }

    private void CancelHeld(CancellationToken token)
    {
        lock (_gate)
        {
            if (!_holding) return;
            _holding = false;
        }
        _held.SetException(new OperationCanceledException(token));
    }

    private void ReleaseHeld(FlushResult result)
    {
        lock (_gate)
        {
            if (!_holding) return;
            _holding = false;
        }
        _heldCancel.Unregister();
        _held.SetResult(result);
    }

    public override void Complete(Exception? exception = null)
    {
        bool send = false;
        ValueTask<int> inFlight = default;
        byte[]? joined = null;
        lock (_gate)
        {
            if (_completed) return;
            _completed = true;
            Commit();
            if (_failed)
            {
                if (!_sending) Finish(shutdown: false);
                return;
            }
            if (!_sending && _queued > 0)
            {
                _sending = true;
                send = SendWhileTaken(out inFlight, out joined);
            }
            else if (!_sending)
            {
                Finish(shutdown: true);
            }
        }
        // What was written and not flushed is sent too (as a Pipe's reader sees a completed writer's last bytes);
        // when the socket cannot take it at once, the background send shuts down after it.
        if (send) SendOnWriter(inFlight, joined);
    }

    FlushResult IValueTaskSource<FlushResult>.GetResult(short token)
    {
        _heldCancel.Dispose();
        _heldCancel = default;
        return _held.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource<FlushResult>.GetStatus(short token) => _held.GetStatus(token);

    void IValueTaskSource<FlushResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _held.OnCompleted(continuation, state, token, flags);
}
