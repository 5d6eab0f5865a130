using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace FastMcp.Gateway.Transport.Epoll;

/// <summary>
/// Our own epoll loops for the data sockets (issue #14). The runtime's socket engine tries each receive at
/// once and only waits for readiness after that attempt failed: every exchange paid one recvfrom returning
/// EAGAIN per side (strace: 4 recvfrom per proxied exchange, 2 of them EAGAIN), and a socket it once
/// registered keeps waking its event threads for edges nobody waits for. Here a socket is registered once,
/// edge-triggered for both directions; after a read that did not fill its buffer (the socket is drained) the
/// receive loop waits for the next edge instead of reading again, and a send that the socket did not take
/// whole waits for the next writable edge. Connects to upstreams wait here too (non-blocking connect).
/// One loop thread per core, sockets assigned round-robin; a signalled loop continues on the engine's
/// thread, as the runtime's inline socket completions do (SocketEngineSettings). Work posted by other threads runs
/// on the loop between two waits (<see cref="PostedWork"/>): a strict exchange whose record became durable resumes
/// here, on the loop that owns its connection.
/// </summary>
internal sealed unsafe class ReadinessEngine : FastMcp.Audit.IAppendResumeTarget
{
    /// <summary>Set to "runtime" to use the runtime's socket engine instead (diagnostics and benchmarks).</summary>
    public const string Variable = "FASTMCP_SOCKET_RECEIVE";

    /// <summary>Number of epoll loops (default: one per core); overrides <c>threads.socketLoops</c>.</summary>
    public const string ThreadsVariable = "FASTMCP_SOCKET_THREADS";

    /// <summary>Most loops either setting may ask for.</summary>
    public const int MaxLoops = 1024;

    // Loops asked for at start (ConfigureLoops); 0: one per core.
    private static int s_loops;

    private const int MaxEvents = 256;

    private static readonly Lazy<ReadinessEngine[]?> s_engines = new(CreateEngines);
    private static int s_next;

    private readonly int _epoll;
    private readonly object _lock = new();
    private readonly Stack<int> _free = new();
    // Slot -> waiters (read, write); the event's data is (generation << 32 | slot), so an edge for a socket that
    // has gone is dropped.
    private Readiness?[] _readers = new Readiness?[64];
    private Readiness?[] _writers = new Readiness?[64];
    private uint[] _generations = new uint[64];
    private int _used;
    // Work other threads hand this loop (the audit writer's durable strict waiters), run between two epoll_waits.
    private readonly PostedWork _posted;

    private ReadinessEngine(int epoll, int index)
    {
        _epoll = epoll;
        Index = index;
        _posted = new PostedWork(epoll);
        var thread = new Thread(Run) { IsBackground = true, Name = $"fastmcp-epoll-{index}" };
        thread.Start();
    }

    /// <summary>
    /// Sets the number of loops from <see cref="ThreadsVariable"/> when it is set, else from <paramref name="configured"/>
    /// (<c>threads.socketLoops</c>, 0: one per core). Called at start, before the first socket; a value out of range is
    /// a configuration error naming where it came from.
    /// </summary>
    public static void ConfigureLoops(int configured)
    {
        string? variable = Environment.GetEnvironmentVariable(ThreadsVariable);
        if (string.IsNullOrEmpty(variable))
        {
            if (configured is < 0 or > MaxLoops) throw new Configuration.ConfigurationException("threads.socketLoops", $"must be between 0 (one per core) and {MaxLoops}");
            s_loops = configured;
            return;
        }
        if (!int.TryParse(variable, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int loops) || loops is < 1 or > MaxLoops)
            throw new Configuration.ConfigurationException(ThreadsVariable, $"'{variable}' is not a number of socket loops between 1 and {MaxLoops}");
        s_loops = loops;
    }

    /// <summary>This loop's position among the loops (0 to the number of loops - 1).</summary>
    public int Index { get; }

    /// <summary>An engine for a new socket, or null when sockets use the runtime's engine (not Linux x86-64, or configured so).</summary>
    public static ReadinessEngine? Next()
    {
        ReadinessEngine[]? engines = s_engines.Value;
        if (engines is null) return null;
        return engines[(int)((uint)Interlocked.Increment(ref s_next) % (uint)engines.Length)];
    }

    /// <summary>The loop at <paramref name="index"/> (a connection's <see cref="ConnectionTransport.Loop"/>); another one, as <see cref="Next"/>, when there is none.</summary>
    public static ReadinessEngine? At(int index)
    {
        ReadinessEngine[]? engines = s_engines.Value;
        return engines is not null && (uint)index < (uint)engines.Length ? engines[index] : Next();
    }

    /// <summary>The loop at <paramref name="index"/>, or null when there is none (-1: a socket on the runtime's engine).</summary>
    public static ReadinessEngine? Of(int index)
    {
        if (index < 0) return null;
        ReadinessEngine[]? engines = s_engines.Value;
        return engines is not null && index < engines.Length ? engines[index] : null;
    }

    /// <summary>
    /// Runs <paramref name="work"/> on this loop's thread between two epoll_waits, waking the loop if it sleeps (a
    /// durable group's strict waiters whose connections this loop owns); false once the loop has ended.
    /// </summary>
    public bool TryPost(IThreadPoolWorkItem work) => _posted.TryPost(work);

    /// <summary>As <see cref="TryPost"/>, leaving the wake-up of a sleeping loop to the caller's <see cref="Wake"/> (a group's other shares are queued first).</summary>
    public bool TryQueue(IThreadPoolWorkItem work, out bool wake) => _posted.TryQueue(work, out wake);

    /// <summary>Wakes this loop after a <see cref="TryQueue"/> that asked for it.</summary>
    public void Wake() => _posted.Wake();

    /// <summary>How many loops run (0: sockets use the runtime's engine). Starts them when no socket has yet.</summary>
    public static int Count => s_engines.Value?.Length ?? 0;

    private static ReadinessEngine[]? CreateEngines()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        if (string.Equals(Environment.GetEnvironmentVariable(Variable), "runtime", StringComparison.OrdinalIgnoreCase)) return null;
        int count = s_loops > 0 ? s_loops : Math.Max(1, Environment.ProcessorCount);
        var engines = new ReadinessEngine[count];
        for (int i = 0; i < engines.Length; i++)
        {
            int epoll = EpollNative.Create(EpollNative.CloseOnExec);
            if (epoll < 0) throw new IOException($"epoll_create1 failed (errno {Marshal.GetLastPInvokeError()})");
            engines[i] = new ReadinessEngine(epoll, i);
        }
        return engines;
    }

    /// <summary>
    /// Makes <paramref name="socket"/> non-blocking and watches it for both directions; returns the registration
    /// to pass to <see cref="Unregister"/>.
    /// </summary>
    public int Register(Socket socket, Readiness read, Readiness write)
    {
        socket.Blocking = false;
        int slot;
        uint generation;
        lock (_lock)
        {
            if (!_free.TryPop(out slot))
            {
                if (_used == _readers.Length)
                {
                    Array.Resize(ref _generations, _used * 2);
                    Array.Resize(ref _readers, _used * 2);
                    Array.Resize(ref _writers, _used * 2);
                }
                slot = _used++;
            }
            generation = _generations[slot];
            // Released stores: the loop reads the slot without the lock (TryFind).
            Volatile.Write(ref _readers[slot], read);
            Volatile.Write(ref _writers[slot], write);
        }
        var ev = new EpollNative.Event
        {
            Events = EpollNative.In | EpollNative.Out | EpollNative.RdHup | EpollNative.EdgeTriggered,
            Data = (ulong)generation << 32 | (uint)slot,
        };
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            if (EpollNative.Control(_epoll, EpollNative.CtlAdd, (int)socket.SafeHandle.DangerousGetHandle(), &ev) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                Release(slot);
                throw new SocketException(errno == 9 ? (int)SocketError.OperationAborted : (int)SocketError.SocketError);
            }
        }
        finally
        {
            if (added) socket.SafeHandle.DangerousRelease();
        }
        return slot;
    }

    /// <summary>
    /// Forgets a registration. The kernel drops the socket from the epoll set when its descriptor closes;
    /// an edge still in flight finds a new generation in the slot and is ignored.
    /// </summary>
    public void Unregister(int slot) => Release(slot);

    private void Release(int slot)
    {
        lock (_lock)
        {
            _readers[slot] = null;
            _writers[slot] = null;
            // After the waiters are cleared: a lookup that read them before sees the new generation on its second read.
            Volatile.Write(ref _generations[slot], _generations[slot] + 1);
            _free.Push(slot);
        }
    }

    /// <summary>
    /// The waiters of the registration an event names, without the lock (two to three events per exchange took it). The
    /// generation is read before and after the waiters: a slot released (and taken again) meanwhile fails the second
    /// read. An event arrives only after its registration's epoll_ctl, so the arrays read here already hold its slot.
    /// </summary>
    private bool TryFind(int slot, uint generation, out Readiness? read, out Readiness? write)
    {
        uint[] generations = Volatile.Read(ref _generations);
        read = write = null;
        if ((uint)slot >= (uint)generations.Length || Volatile.Read(ref generations[slot]) != generation) return false;
        read = Volatile.Read(ref Volatile.Read(ref _readers)[slot]);
        write = Volatile.Read(ref Volatile.Read(ref _writers)[slot]);
        return Volatile.Read(ref Volatile.Read(ref _generations)[slot]) == generation;
    }

    private void Run()
    {
        // The first socket may be registered from a thread that predates the policy.
        ThreadScheduling.ApplyToCurrentThread();
        EpollNative.Event* events = (EpollNative.Event*)NativeMemory.Alloc((nuint)(MaxEvents * sizeof(EpollNative.Event)));
        while (true)
        {
            // Blocks only when nothing is posted; a post made while it blocks writes the wake-up eventfd.
            int count = EpollNative.Wait(_epoll, events, MaxEvents, _posted.PrepareToSleep() ? -1 : 0);
            _posted.Awake();
            if (count < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EpollNative.Interrupted) continue;
                Hosting.Log.Error($"epoll_wait failed (errno {errno}); receives on this loop stop");
                // Durable strict waiters posted from now on resume on the thread pool.
                _posted.Stop();
                return;
            }
            for (int i = 0; i < count; i++)
            {
                ulong data = events[i].Data;
                if (data == PostedWork.WakeData) continue; // the wake-up: the posted work runs below
                uint happened = events[i].Events;
                int slot = (int)(uint)data;
                uint generation = (uint)(data >> 32);
                if (!TryFind(slot, generation, out Readiness? read, out Readiness? write)) continue;
                // An error or hang-up wakes both sides: the next read or send reports it.
                if ((happened & (EpollNative.RdHup | EpollNative.Err | EpollNative.Hup)) != 0) read?.MarkHungUp();
                if ((happened & (EpollNative.In | EpollNative.RdHup | EpollNative.Err | EpollNative.Hup)) != 0) read?.Signal();
                if ((happened & (EpollNative.Out | EpollNative.Err | EpollNative.Hup)) != 0) write?.Signal();
            }
            _posted.RunQueued();
        }
    }
}
