using FastMcp.Gateway.Transport.Epoll;

namespace FastMcp.Gateway.Tests.Transport;

/// <summary>
/// The hand-off between the epoll loop and a socket's receive or send loop: an edge that comes while nobody
/// waits must not be lost (that would hang a connection with bytes to read), and closing wakes a waiter.
/// </summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task A_signal_before_the_wait_is_kept_and_consumed_once()
    {
        var readiness = new Readiness();
        readiness.Signal();
        readiness.Signal(); // two edges before anyone waits are one "may be ready"
        Assert.True(await readiness.WaitAsync());
        ValueTask<bool> next = readiness.WaitAsync();
        Assert.False(next.IsCompleted);
        readiness.Signal();
        Assert.True(await next);
    }

    [Fact]
    public async Task Close_completes_a_pending_wait_with_false_and_every_later_wait()
    {
        var readiness = new Readiness();
        ValueTask<bool> pending = readiness.WaitAsync();
        Assert.False(pending.IsCompleted);
        readiness.Close();
        Assert.False(await pending);
        Assert.False(await readiness.WaitAsync());
        readiness.Signal(); // an edge after close changes nothing
        Assert.False(await readiness.WaitAsync());
    }

    [Fact]
    public async Task Signals_racing_waits_never_lose_an_edge()
    {
        var readiness = new Readiness();
        const int rounds = 20_000;
        int woken = 0;
        var waiter = Task.Run(async () =>
        {
            for (int i = 0; i < rounds; i++)
            {
                Assert.True(await readiness.WaitAsync());
                Interlocked.Increment(ref woken);
            }
        });
        // Each round signals until the waiter has taken it: a lost edge would leave the waiter hanging.
        for (int i = 0; i < rounds; i++)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Volatile.Read(ref woken) <= i)
            {
                readiness.Signal();
                Assert.True(DateTime.UtcNow < deadline, $"the waiter stopped waking at round {i}");
                Thread.SpinWait(20);
            }
        }
        await waiter.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(rounds, woken);
    }

    [Fact]
    public void Hang_up_is_sticky()
    {
        var readiness = new Readiness();
        Assert.False(readiness.HungUp);
        readiness.MarkHungUp();
        Assert.True(readiness.HungUp);
    }
}
