using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Upstream.Stdio;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// The per-site gate of lines a remote party can repeat: a budget of lines per interval, the rest held back and counted
/// on the next written line, and a held-back line costs no allocation (it sits on paths a flood drives).
/// </summary>
public sealed class ThrottledWarningTests
{
    [Fact]
    public void A_budget_of_lines_is_taken_then_the_rest_of_the_interval_is_held_back()
    {
        var gate = new ThrottledWarning(intervalMs: 60_000, burst: 3);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(gate.TryTake(out int held));
            Assert.Equal(0, held);
        }
        // Far less than one interval (60 s) passes in this loop on any machine.
        for (int i = 0; i < 1000; i++) Assert.False(gate.TryTake(out _));
    }

    [Fact]
    public void The_first_line_after_the_interval_carries_how_many_were_held_back()
    {
        var gate = new ThrottledWarning(intervalMs: 1, burst: 1);
        Assert.True(gate.TryTake(out _));
        int heldBack = 0;
        for (int i = 0; i < 1000; i++)
            if (gate.TryTake(out _)) heldBack = 0; else heldBack++;
        long last = Environment.TickCount64;
        for (int i = 0; i < 1000 && Environment.TickCount64 < last + 2; i++) Thread.Sleep(1);
        Assert.True(gate.TryTake(out int held));
        Assert.Equal(heldBack, held);
    }

    [Fact]
    public void A_held_back_line_and_its_count_allocate_nothing()
    {
        var events = new StdioEventLog();
        for (int i = 0; i < 100; i++) events.Count(StdioEvent.InvalidLine, out _);
        bool any = false;
        long allocated = ThreadAllocations.Measure(() =>
        {
            for (int i = 0; i < 10_000; i++) any |= events.Count(StdioEvent.InvalidLine, out _);
        });
        Assert.False(any);
        Assert.Equal(0, allocated);
        Assert.Equal(10_100, events.Total(StdioEvent.InvalidLine));
    }
}
