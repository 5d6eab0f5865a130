using FastMcp.Gateway.Sessions;

namespace FastMcp.Gateway.Tests.Sessions;

/// <summary>The bounded queue of session ends: first in, first out; full, it gives up its oldest; enqueueing allocates nothing.</summary>
public sealed class DropOldestQueueTests
{
    private readonly record struct Item(string Id, string? Version);

    [Fact]
    public void Items_come_out_in_the_order_they_went_in()
    {
        var queue = new DropOldestQueue<Item>(4);
        for (int i = 0; i < 3; i++) Assert.False(queue.Enqueue(new Item($"s-{i}", null), out _));
        Assert.Equal(3, queue.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(queue.TryDequeue(out Item item));
            Assert.Equal($"s-{i}", item.Id);
        }
        Assert.False(queue.TryDequeue(out _));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void A_full_queue_gives_up_its_oldest_and_keeps_its_bound()
    {
        var queue = new DropOldestQueue<Item>(3);
        var dropped = new List<string>();
        for (int i = 0; i < 10; i++)
        {
            if (queue.Enqueue(new Item($"s-{i}", null), out Item gone)) dropped.Add(gone.Id);
            Assert.InRange(queue.Count, 1, 3);
        }
        Assert.Equal(["s-0", "s-1", "s-2", "s-3", "s-4", "s-5", "s-6"], dropped);
        // What stays is the newest, still oldest first; the ring wrapped several times on the way.
        Assert.True(queue.TryDequeue(out Item a));
        Assert.True(queue.TryDequeue(out Item b));
        Assert.True(queue.TryDequeue(out Item c));
        Assert.Equal(("s-7", "s-8", "s-9"), (a.Id, b.Id, c.Id));
        Assert.False(queue.TryDequeue(out _));
    }

    [Fact]
    public void Enqueueing_and_dropping_allocate_nothing()
    {
        var queue = new DropOldestQueue<Item>(16);
        var item = new Item("0c6f4d9e2b7a41f3a8e5d1c2b3a49f87", "2025-06-18");
        queue.Enqueue(item, out _);
        queue.TryDequeue(out _);
        Assert.Equal(0, ThreadAllocations.Measure(() =>
        {
            // Past the bound too: a dropped entry is handed back in place, nothing is made for it.
            for (int i = 0; i < 1_000; i++) queue.Enqueue(item, out _);
            for (int i = 0; i < 8; i++) queue.TryDequeue(out _);
        }));
    }

    [Fact]
    public void A_queue_holds_at_least_one()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new DropOldestQueue<Item>(0));
    }
}
