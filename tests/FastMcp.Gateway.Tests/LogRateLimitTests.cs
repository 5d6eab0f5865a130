using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Tests;

/// <summary>The log rate limit: the first line of a kind and key at once, the repeats held back and counted, other keys apart.</summary>
public sealed class LogRateLimitTests
{
    [Fact]
    public void The_first_line_is_taken_and_repeats_within_the_interval_are_held_back()
    {
        var limit = new LogRateLimit();
        Assert.True(limit.TryTake("upstream failure", "http://a/mcp", 1, out int held));
        Assert.Equal(0, held);
        // Far less than one interval (10 s) passes in this loop on any machine.
        for (int i = 0; i < 1000; i++) Assert.False(limit.TryTake("upstream failure", "http://a/mcp", 1, out _));
    }

    [Fact]
    public void Another_upstream_another_error_kind_or_another_kind_of_line_is_written_at_once()
    {
        var limit = new LogRateLimit();
        Assert.True(limit.TryTake("upstream failure", "http://a/mcp", 1, out _));
        Assert.True(limit.TryTake("upstream failure", "http://b/mcp", 1, out _));
        Assert.True(limit.TryTake("upstream failure", "http://a/mcp", 2, out _));
        Assert.True(limit.TryTake("withheld event", "http://a/mcp", 1, out _));
        Assert.False(limit.TryTake("upstream failure", "http://a/mcp", 1, out _));
    }

    [Fact]
    public void The_next_line_after_the_interval_carries_how_many_were_held_back()
    {
        var limit = new LogRateLimit(intervalMs: 1);
        Assert.True(limit.TryTake("upstream failure", "http://a/mcp", 1, out _));
        // Repeats are held back; one that falls past the 1 ms interval is written and takes the count so far with it.
        int heldBack = 0;
        for (int i = 0; i < 1000; i++)
            if (limit.TryTake("upstream failure", "http://a/mcp", 1, out _)) heldBack = 0; else heldBack++;
        Assert.True(heldBack > 0);
        // Wait (bounded) for the interval to pass without asking, then the next line counts them.
        long last = Environment.TickCount64;
        for (int i = 0; i < 1000 && Environment.TickCount64 < last + 2; i++) Thread.Sleep(1);
        Assert.True(limit.TryTake("upstream failure", "http://a/mcp", 1, out int held));
        Assert.Equal(heldBack, held);
    }

    [Fact]
    public void The_held_back_count_is_written_as_a_tail_and_nothing_when_none_were()
    {
        Assert.Equal("", LogRateLimit.Held(0));
        Assert.Equal(" (1,234 more like it since the last such line)", LogRateLimit.Held(1234));
    }
}
