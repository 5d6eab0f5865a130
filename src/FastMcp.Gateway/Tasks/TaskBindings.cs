using System.Collections.Concurrent;
using System.Text;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tasks;

/// <summary>What the table knows of a task id a request names.</summary>
internal enum TaskCheck : byte
{
    /// <summary>Bound to this caller: the request may go on.</summary>
    Owned,
    /// <summary>Bound to another caller: refused as if unknown (its existence is not revealed).</summary>
    Foreign,
    /// <summary>Not bound here: never seen created, forgotten past a bound, or created before a restart.</summary>
    Unknown,
}

/// <summary>
/// The task ids upstreams created, each bound to the caller whose call created it (per upstream: two upstreams may
/// use the same id). The gateway calls every upstream with its own credential, so an upstream that keys tasks by
/// authorization context sees all callers as one: this table is what keeps one caller from reading another's task.
/// Bounded twice per upstream, oldest first: a caller keeps at most maxPerCaller (one more forgets that caller's own
/// oldest, nobody else's), the upstream at most maxPerUpstream (one more forgets the upstream's oldest). A forgotten
/// id is unknown, and refused. Looking an id up allocates nothing and takes no lock (tasks/get polls are frequent);
/// binding takes the upstream's lock, once per created task.
/// </summary>
internal sealed class TaskBindings(int maxPerUpstream, int maxPerCaller)
{
    /// <summary>Longest task id (UTF-8 bytes) the gateway binds; a longer one is never bound, so its requests are refused.</summary>
    public const int MaxIdBytes = 1024;

    /// <summary>
    /// Most bytes of creating-call arguments kept per upstream (TaskCreatingCall): past it a new binding keeps none
    /// (withheld: a rule that reads them refuses the task after a reload), so that callers filling maxPerUpstream with
    /// 4 KiB arguments hold 16 MiB, not 400.
    /// </summary>
    public const long MaxKeptArgumentBytesPerUpstream = 16L << 20;

    private sealed class Table
    {
        public readonly ConcurrentDictionary<string, TaskBinding> ById = new(StringComparer.Ordinal);
        public readonly ConcurrentDictionary<string, TaskBinding>.AlternateLookup<ReadOnlySpan<char>> BySpan;
        public readonly LinkedList<TaskBinding> Oldest = new();
        public readonly Dictionary<(string Subject, string? Issuer), LinkedList<TaskBinding>> ByCaller = new();
        // Every change; lookups read ById without it.
        public readonly Lock Gate = new();
        // Bytes of creating-call arguments the bindings hold (under Gate).
        public long KeptArgumentBytes;

        public Table() => BySpan = ById.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    private readonly ConcurrentDictionary<string, Table> _byUpstream = new(StringComparer.Ordinal);
    private long _evictedForCaller, _evictedForUpstream, _argumentsNotKept;

    public int MaxPerUpstream { get; } = maxPerUpstream;
    public int MaxPerCaller { get; } = maxPerCaller;

    /// <summary>Bindings forgotten because their caller passed tasks.maxPerCaller.</summary>
    public long EvictedForCaller => Volatile.Read(ref _evictedForCaller);

    /// <summary>Bindings forgotten because their upstream passed tasks.maxPerUpstream.</summary>
    public long EvictedForUpstream => Volatile.Read(ref _evictedForUpstream);

    /// <summary>Bindings made without their creating call's arguments because the upstream's budget for them was spent.</summary>
    public long ArgumentsNotKept => Volatile.Read(ref _argumentsNotKept);

    /// <summary>Bytes of creating-call arguments held for <paramref name="upstream"/>'s bindings.</summary>
    public long KeptArgumentBytes(string upstream)
    {
        if (!_byUpstream.TryGetValue(upstream, out Table? table)) return 0;
        lock (table.Gate) return table.KeptArgumentBytes;
    }

    /// <summary>Whether the task <paramref name="idUtf8"/> (unescaped) on <paramref name="upstream"/> is the caller's. No allocation.</summary>
    public TaskCheck Check(string upstream, ReadOnlySpan<byte> idUtf8, Principal caller) => Check(upstream, idUtf8, caller, out _);

    /// <summary>As <see cref="Check(string, ReadOnlySpan{byte}, Principal)"/>, with the binding when the task is the caller's (to be decided again).</summary>
    public TaskCheck Check(string upstream, ReadOnlySpan<byte> idUtf8, Principal caller, out TaskBinding? owned)
    {
        owned = null;
        if (idUtf8.Length > MaxIdBytes || !_byUpstream.TryGetValue(upstream, out Table? table)) return TaskCheck.Unknown;
        Span<char> chars = stackalloc char[MaxIdBytes];
        if (!Encoding.UTF8.TryGetChars(idUtf8, chars, out int n)) return TaskCheck.Unknown;
        if (!table.BySpan.TryGetValue(chars[..n], out TaskBinding? binding)) return TaskCheck.Unknown;
        if (!binding.IsOf(caller.Subject, caller.Issuer)) return TaskCheck.Foreign;
        owned = binding;
        return TaskCheck.Owned;
    }

    /// <summary>
    /// Binds a task the upstream created in answer to the caller's call. An id already bound stays with its first caller
    /// (false when that is someone else): a binding never moves a task from one caller to another, nor changes its masking.
    /// <paramref name="verdict"/>: the decision that allowed the creating call (null: none, the default masking);
    /// <paramref name="call"/>: what is kept of that call to decide it again (null: bound on presentation, never seen).
    /// </summary>
    public bool Bind(string upstream, ReadOnlySpan<byte> idUtf8, Principal caller, TaskVerdict? verdict = null, TaskCreatingCall? call = null)
    {
        if (idUtf8.IsEmpty || idUtf8.Length > MaxIdBytes) return false;
        Table table = _byUpstream.GetOrAdd(upstream, static _ => new Table());
        string id = Encoding.UTF8.GetString(idUtf8);
        lock (table.Gate)
        {
            if (table.ById.TryGetValue(id, out TaskBinding? existing)) return existing.IsOf(caller.Subject, caller.Issuer);
            if (call?.Arguments is { } kept)
            {
                if (table.KeptArgumentBytes + kept.Length > MaxKeptArgumentBytesPerUpstream)
                {
                    call = call.WithArgumentsWithheld();
                    Interlocked.Increment(ref _argumentsNotKept);
                }
                else table.KeptArgumentBytes += kept.Length;
            }
            var binding = new TaskBinding(id, caller.Subject, caller.Issuer, call, verdict ?? new TaskVerdict(null, caller, null));
            var key = (caller.Subject, caller.Issuer);
            if (!table.ByCaller.TryGetValue(key, out LinkedList<TaskBinding>? own)) table.ByCaller[key] = own = new LinkedList<TaskBinding>();
            if (own.Count >= MaxPerCaller)
            {
                Remove(table, own.First!.Value);
                Interlocked.Increment(ref _evictedForCaller);
            }
            if (table.Oldest.Count >= MaxPerUpstream)
            {
                Remove(table, table.Oldest.First!.Value);
                Interlocked.Increment(ref _evictedForUpstream);
            }
            // The caller's list may have been emptied and dropped by the eviction above.
            if (!table.ByCaller.TryGetValue(key, out own)) table.ByCaller[key] = own = new LinkedList<TaskBinding>();
            binding.InCaller = own.AddLast(binding);
            binding.InUpstream = table.Oldest.AddLast(binding);
            table.ById[id] = binding;
            return true;
        }
    }

    /// <summary>Bindings held on <paramref name="upstream"/>.</summary>
    public int Count(string upstream)
    {
        if (!_byUpstream.TryGetValue(upstream, out Table? table)) return 0;
        lock (table.Gate) return table.Oldest.Count;
    }

    /// <summary>Bindings held for <paramref name="caller"/> on <paramref name="upstream"/>.</summary>
    public int CountOf(string upstream, Principal caller)
    {
        if (!_byUpstream.TryGetValue(upstream, out Table? table)) return 0;
        lock (table.Gate) return table.ByCaller.TryGetValue((caller.Subject, caller.Issuer), out LinkedList<TaskBinding>? own) ? own.Count : 0;
    }

    /// <summary>Takes a binding out of the table, its upstream's list and its caller's (under the table's lock).</summary>
    private static void Remove(Table table, TaskBinding binding)
    {
        table.ById.TryRemove(new KeyValuePair<string, TaskBinding>(binding.Id, binding));
        table.Oldest.Remove(binding.InUpstream!);
        if (binding.Call?.Arguments is { } kept) table.KeptArgumentBytes -= kept.Length;
        var key = (binding.Subject, binding.Issuer);
        if (table.ByCaller.TryGetValue(key, out LinkedList<TaskBinding>? own))
        {
            own.Remove(binding.InCaller!);
            if (own.Count == 0) table.ByCaller.Remove(key);
        }
    }
}
