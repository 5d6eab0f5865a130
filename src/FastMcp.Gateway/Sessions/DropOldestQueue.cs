namespace FastMcp.Gateway.Sessions;

/// <summary>
/// A first-in first-out queue of fixed capacity that, when full, makes room by giving up its oldest item (handed back
/// to the caller to count). A ring over one array made up front: enqueueing, dropping and dequeueing allocate nothing.
/// Safe for several producers and one or more consumers (one short lock per operation).
/// </summary>
internal sealed class DropOldestQueue<T>
{
    private readonly T[] _items;
    private readonly Lock _gate = new();
    private int _head, _count;

    public DropOldestQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _items = new T[capacity];
    }

    public int Capacity => _items.Length;

    public int Count
    {
        get
        {
            lock (_gate) return _count;
        }
    }

    /// <summary>Adds <paramref name="item"/> last; true when the queue was full and <paramref name="dropped"/> (its oldest) had to go.</summary>
    public bool Enqueue(T item, out T dropped)
    {
        lock (_gate)
        {
            if (_count == _items.Length)
            {
                // The oldest's slot takes the newest, which is now last: the ring turns by one.
                dropped = _items[_head];
                _items[_head] = item;
                _head = Next(_head);
                return true;
            }
            int tail = _head + _count;
            _items[tail >= _items.Length ? tail - _items.Length : tail] = item;
            _count++;
            dropped = default!;
            return false;
        }
    }

    public bool TryDequeue(out T item)
    {
        lock (_gate)
        {
            if (_count == 0)
            {
                item = default!;
                return false;
            }
            item = _items[_head];
            // Cleared so that what went out is not kept alive by the array.
            _items[_head] = default!;
            _head = Next(_head);
            _count--;
            return true;
        }
    }

    private int Next(int index) => index + 1 == _items.Length ? 0 : index + 1;
}
