using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// The receive side of a plain socket on our epoll loops (issue #14): a PipeReader that receives when the connection
/// reads and has examined everything it holds, straight into its own buffers, on the reading thread. A receive loop
/// feeding a Pipe took the Pipe's lock on every flush, read and advance and resumed the reader through it: about
/// 0.8 µs per exchange in the pass-through profile. Pull, not push: bytes stay in the kernel until the connection
/// asks for them, so a connection that reads nothing (waiting for its upstream, or idle) holds no receive buffer,
/// and back-pressure needs no threshold. As before, a receive that did not fill its buffer has drained the socket,
/// so the next one waits for the socket's next readable edge instead of finding nothing (EAGAIN).
/// </summary>
/// <remarks>
/// One reader at a time (the PipeReader contract); <see cref="CancelPendingRead"/> may come from any thread. A read that
/// has to wait is its own value-task source, completed by a callback on the socket's readiness: no async method between
/// the engine's signal and the connection's code (see <see cref="OnReadable"/>).
/// </remarks>
internal sealed class SocketReceiveReader : PipeReader, IValueTaskSource<ReadResult>
{
    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public byte[] Array = [];
        public int End;

        public void Grow(int bytes)
        {
            End += bytes;
            Memory = Array.AsMemory(0, End);
        }

        public void Link(Segment next)
        {
            next.RunningIndex = RunningIndex + End;
            Next = next;
        }

        public Segment? NextSegment => (Segment?)Next;

        public void SetNext(Segment? next) => Next = next;

        public void Reset(byte[] array, long runningIndex)
        {
            Array = array;
            End = 0;
            Memory = default;
            RunningIndex = runningIndex;
            Next = null;
        }
    }

    /// <summary>At least this much per receive: one MCP request or answer usually fits in one read.</summary>
    internal const int ReceiveChunk = 4096;

    /// <summary>The most a receive asks for once reads keep filling their buffer (a large message).</summary>
    internal const int LargeReceiveChunk = 32 * 1024;

    private const int KeptSegments = 4;

    private readonly SafeSocketHandle _handle; // read once: Socket's getter marks the handle exposed each time
    private readonly Epoll.Readiness _readable;

    private Segment? _head;     // first segment with unconsumed bytes, from _headStart
    private int _headStart;
    private Segment? _tail;     // last segment; receives go into its free space
    private bool _examinedAll;  // the last AdvanceTo examined everything held: the next read needs new bytes
    private bool _mayHaveData;  // the last receive filled its buffer (or the peer speaks first): receive before waiting
    private int _chunk = ReceiveChunk;
    private bool _ended;        // the peer closed its side (or we closed the socket): what is held is all there is
    private Exception? _error;  // a socket error: thrown once what is held was read
    private volatile bool _completed; // the connection completed its input (possibly from another thread: see Complete)
    private volatile bool _cancelNext;

    private Segment? _spare;
    private int _spareCount;

    // The read waiting for the socket: its result, the readiness it waits on, and its token.
    // Completed where the readiness is signalled (the engine's thread), as the async method it replaces was.
    private ManualResetValueTaskSourceCore<ReadResult> _waiting;
    private ValueTask<bool> _ready;
    private CancellationToken _waitToken;
    // The registration that signals the readiness when a wait's token is cancelled, and the token it was made for. It is
    // kept from one read to the next while they wait with the same token (a client connection's deadline source, for
    // every request): registering and unregistering per read cost about 250 instructions per exchange. A token that
    // fires while no read waits leaves the readiness signalled, which costs the next wait one receive that finds nothing.
    private CancellationTokenRegistration _waitRegistration;
    private CancellationToken _registeredToken;
    private readonly Action _onReadable;

    public SocketReceiveReader(Socket socket, Epoll.Readiness readable, bool peerSpeaksFirst)
    {
        _handle = socket.SafeHandle;
        _readable = readable;
        _mayHaveData = peerSpeaksFirst;
        _onReadable = OnReadable;
    }

    /// <summary>True while received bytes (and so a pooled buffer) are held: between a receive and their consumption.</summary>
    internal bool HoldsBuffer => _head is not null;

    private ReadOnlySequence<byte> Held =>
        _head is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_head, _headStart, _tail!, _tail!.End);

    private bool HasUnexamined => _head is not null && !_examinedAll && (_head != _tail || _headStart < _tail.End);

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (TryReadNow(out ReadResult result)) return new ValueTask<ReadResult>(result);
        cancellationToken.ThrowIfCancellationRequested();
        _waitToken = cancellationToken;
        _waiting.Reset(); // before the wait is hooked: the engine's thread may complete it before this returns
        try
        {
            if (ReceiveOrWait(out result))
            {
                EndWait();
                return new ValueTask<ReadResult>(result);
            }
        }
        catch (Exception e)
        {
            EndWait();
            return ValueTask.FromException<ReadResult>(e);
        }
        return new ValueTask<ReadResult>(this, _waiting.Version);
    }

    public override bool TryRead(out ReadResult result)
    {
        if (TryReadNow(out result)) return true;
        // Bytes or the end of the stream announced by the socket (an idle pooled upstream that closed): read them now.
        if ((_mayHaveData || _readable.HungUp || _readable.IsSignaled) && Receive(out result) != Outcome.WouldBlock) return true;
        // Held bytes already examined are still unconsumed: returned, as a Pipe's TryRead returns them. An idle pooled
        // upstream's check (UpstreamConnection.IsDeadWhileIdle) must see bytes left behind a complete response.
        if (_head is null) return false;
        result = new ReadResult(Held, isCanceled: false, isCompleted: false);
        return true;
    }

    /// <summary>A read that needs no receive: a cancellation, held bytes not yet examined, or the end of the stream.</summary>
    private bool TryReadNow(out ReadResult result)
    {
        if (_completed) throw new InvalidOperationException("Reading is not allowed after the reader was completed.");
        if (_cancelNext)
        {
            _cancelNext = false;
            result = new ReadResult(Held, isCanceled: true, isCompleted: _ended);
            return true;
        }
        if (HasUnexamined)
        {
            result = new ReadResult(Held, isCanceled: false, isCompleted: _ended);
            return true;
        }
        if (_ended)
        {
            result = Ended();
            return true;
        }
        result = default;
        return false;
    }

    private ReadResult Ended()
    {
        if (_error is { } error)
        {
            _error = null; // thrown once, as a Pipe rethrows a writer's error on the read that finds it
            throw error;
        }
        return new ReadResult(Held, isCanceled: false, isCompleted: true);
    }

    private enum Outcome { Received, WouldBlock, End }

    /// <summary>One receive into the tail's free space (or a new segment); never waits.</summary>
    private Outcome Receive(out ReadResult result)
    {
        Segment tail = WritableTail();
        int received;
        SocketError status;
        try
        {
            received = Epoll.SocketCalls.Receive(_handle, tail.Array.AsSpan(tail.End), out status);
        }
        catch (ObjectDisposedException)
        {
            received = 0;
            status = SocketError.Success; // closed by us: the end of the stream
        }
        if (_completed)
        {
            // Completed from another thread while this read was in flight: nobody reads what came.
            _ended = true;
            result = new ReadResult(ReadOnlySequence<byte>.Empty, isCanceled: false, isCompleted: true);
            return Outcome.End;
        }
        if (status == SocketError.WouldBlock)
        {
            _mayHaveData = false;
            DropEmptyTail();
            result = default;
            return Outcome.WouldBlock;
        }
        if (status != SocketError.Success)
        {
            _ended = true;
            if (status != SocketError.OperationAborted) _error = new SocketException((int)status);
            DropEmptyTail();
            result = Ended();
            return Outcome.End;
        }
        if (received == 0)
        {
            _ended = true; // the peer closed its sending side
            DropEmptyTail();
            result = Ended();
            return Outcome.End;
        }
        int room = tail.Array.Length - tail.End;
        tail.Grow(received);
        // A receive that filled its buffer is part of a larger message: read on at once, in larger pieces. One that did
        // not has drained the socket, unless the peer has closed (the end of the stream is still to be read and no
        // further edge will announce it).
        bool filled = received == room;
        _chunk = NextChunk(_chunk, filled);
        _mayHaveData = filled || _readable.HungUp;
        _examinedAll = false;
        result = new ReadResult(Held, isCanceled: false, isCompleted: false);
        return Outcome.Received;
    }

    /// <summary>
    /// A receive that filled its buffer is part of a larger message: the next asks for twice as much (up to
    /// <see cref="LargeReceiveChunk"/>); one that did not goes back to the small size, so idle and small-message
    /// connections stay small. Shared with the runtime-engine receive loop (<see cref="SocketPipe"/>).
    /// </summary>
    internal static int NextChunk(int chunk, bool filled) => filled ? Math.Min(chunk * 2, LargeReceiveChunk) : ReceiveChunk;

    /// <summary>
    /// Receives while the socket may hold bytes, else waits for its next edge: true with the read's result, or false
    /// once <see cref="OnReadable"/> is hooked to the readiness (the read completes there). Throws the socket's error
    /// or the read's cancellation.
    /// </summary>
    private bool ReceiveOrWait(out ReadResult result)
    {
        while (true)
        {
            if (_mayHaveData && Receive(out result) != Outcome.WouldBlock) return true;
            ValueTask<bool> ready = _readable.WaitAsync();
            if (!ready.IsCompleted)
            {
                if (_waitToken.CanBeCanceled && _waitToken != _registeredToken)
                {
                    _waitRegistration.Dispose();
                    _waitRegistration = _waitToken.UnsafeRegister(static state => ((Epoll.Readiness)state!).Signal(), _readable);
                    _registeredToken = _waitToken;
                }
                _ready = ready;
                ready.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onReadable);
                result = default;
                return false;
            }
            if (Woken(ready.Result, out result)) return true;
        }
    }

    /// <summary>The readiness completed: true with the read's result (cancelled, or the end), false to receive again.</summary>
    private bool Woken(bool open, out ReadResult result)
    {
        if (_cancelNext)
        {
            _cancelNext = false;
            result = new ReadResult(Held, isCanceled: true, isCompleted: false);
            return true;
        }
        _waitToken.ThrowIfCancellationRequested();
        if (!open)
        {
            _ended = true; // closed by us (Dispose): the end of the stream
            result = Ended();
            return true;
        }
        _mayHaveData = true;
        result = default;
        return false;
    }

    /// <summary>The waiting read's socket was signalled (or the wait cancelled, or the socket closed): on the signalling thread.</summary>
    private void OnReadable()
    {
        ValueTask<bool> ready = _ready;
        _ready = default;
        ReadResult result;
        try
        {
            if (!Woken(ready.Result, out result) && !ReceiveOrWait(out result)) return; // waits again
        }
        catch (Exception e)
        {
            EndWait();
            _waiting.SetException(e);
            return;
        }
        EndWait();
        _waiting.SetResult(result); // runs the connection's code here, as the awaited async method's completion did
    }

    /// <summary>The read is over (its token's registration stays for the next read with that token; see <see cref="_waitRegistration"/>).</summary>
    private void EndWait() => _waitToken = default;

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _waiting.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _waiting.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _waiting.OnCompleted(continuation, state, token, flags);

    private Segment WritableTail()
    {
        Segment? tail = _tail;
        // A tail with at least half a receive's worth of room takes the next receive; otherwise a new buffer.
        if (tail is not null && tail.Array.Length - tail.End >= _chunk / 2) return tail;
        Segment next = _spare ?? new Segment();
        if (_spare is not null)
        {
            _spare = next.NextSegment;
            _spareCount--;
        }
        next.Reset(ArrayPool<byte>.Shared.Rent(_chunk), 0);
        if (tail is null)
        {
            _head = next;
            _headStart = 0;
        }
        else
        {
            tail.Link(next);
        }
        _tail = next;
        return next;
    }

    // A receive that brought nothing leaves no empty buffer behind: a waiting connection holds no receive memory.
    private void DropEmptyTail()
    {
        // Locals: a Complete from another thread may clear the fields meanwhile (see Complete).
        Segment? tail = _tail, head = _head;
        if (tail is null || head is null || tail.End != 0) return;
        if (head == tail)
        {
            Recycle(tail);
            _head = _tail = null;
            _headStart = 0;
            return;
        }
        Segment before = head;
        while (before.NextSegment is { } next && next != tail) before = next;
        if (before.NextSegment != tail) return;
        Recycle(tail);
        before.SetNext(null);
        _tail = before;
    }

    private void Recycle(Segment segment)
    {
        ArrayPool<byte>.Shared.Return(segment.Array);
        segment.Reset([], 0);
        if (_spareCount >= KeptSegments) return;
        segment.SetNext(_spare);
        _spare = segment;
        _spareCount++;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_completed) throw new InvalidOperationException("AdvanceTo is not allowed after the reader was completed.");
        if (_head is null) return;
        var consumedSegment = (Segment?)consumed.GetObject() ?? _head;
        int consumedIndex = consumed.GetObject() is null ? _headStart : consumed.GetInteger();
        var examinedSegment = (Segment?)examined.GetObject() ?? consumedSegment;
        int examinedIndex = examined.GetObject() is null ? consumedIndex : examined.GetInteger();
        _examinedAll = examinedSegment == _tail && examinedIndex == _tail!.End;

        // Segments before the consumed one are done with.
        while (_head != consumedSegment)
        {
            Segment done = _head!;
            _head = done.NextSegment ?? throw new InvalidOperationException("AdvanceTo beyond the data read");
            Recycle(done);
        }
        _headStart = consumedIndex;
        if (_head == _tail && _headStart == _tail.End)
        {
            // Everything consumed: the buffer goes back to the pool (an idle connection holds none).
            Recycle(_head);
            _head = _tail = null;
            _headStart = 0;
        }
    }

    public override void CancelPendingRead()
    {
        _cancelNext = true;
        _readable.Signal(); // wakes a read waiting for the socket; otherwise the next read returns cancelled
    }

    /// <summary>
    /// Ends reading. Buffers still held are left to the collector, not given back to the pool: Complete can come from
    /// another thread while a read is in flight or its result is still being looked at (a client watch that closes the
    /// upstream exchange mid-stream), and a pooled array handed to another connection meanwhile would mix the two
    /// connections' bytes. A connection normally completes with nothing held (consumed buffers went back already).
    /// </summary>
    public override void Complete(Exception? exception = null)
    {
        if (_completed) return;
        _completed = true;
        _head = _tail = null;
        _spare = null;
        // Not waiting for a callback running elsewhere (it only signals the readiness): this may be any thread.
        _waitRegistration.Unregister();
    }

    protected override ValueTask<ReadResult> ReadAtLeastAsyncCore(int minimumSize, CancellationToken cancellationToken)
    {
        // Enough held already (a body that came in the head's receive, the usual case): no async method to start.
        if (TryReadNow(out ReadResult held) && (held.Buffer.Length >= minimumSize || held.IsCompleted || held.IsCanceled)) return new ValueTask<ReadResult>(held);
        return ReadAtLeastPooledAsync(minimumSize, cancellationToken);
    }

    /// <summary>Reads until <paramref name="minimumSize"/> bytes are held (a body of known length), or the end, or a cancel.</summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReadAtLeastPooledAsync(int minimumSize, CancellationToken ct)
    {
        while (true)
        {
            ReadResult result = await ReadAsync(ct).ConfigureAwait(false);
            if (result.Buffer.Length >= minimumSize || result.IsCompleted || result.IsCanceled) return result;
            // A body larger than one receive: ask for the rest in one buffer.
            long missing = minimumSize - result.Buffer.Length;
            if (missing > _chunk) _chunk = (int)Math.Min(missing, LargeReceiveChunk);
            AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
