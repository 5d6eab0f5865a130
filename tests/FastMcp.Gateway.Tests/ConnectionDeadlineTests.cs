using FastMcp.Gateway.Proxy;

namespace FastMcp.Gateway.Tests;

public sealed class ConnectionDeadlineTests
{
    private static async Task<bool> CancelledWithinAsync(CancellationToken token, int milliseconds)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(milliseconds);
        while (!token.IsCancellationRequested && DateTime.UtcNow < deadline) await Task.Delay(5);
        return token.IsCancellationRequested;
    }

    [Fact]
    public async Task A_passed_deadline_cancels_the_token_and_the_next_arm_starts_with_a_fresh_one()
    {
        using var deadline = new ConnectionDeadline();
        deadline.Arm(30);
        CancellationToken first = deadline.Token;
        Assert.True(await CancelledWithinAsync(first, 10_000));

        deadline.Arm(60_000);
        Assert.False(deadline.Token.IsCancellationRequested);
        Assert.NotEqual(first, deadline.Token);
    }

    [Fact]
    public async Task Re_arming_before_the_deadline_moves_it_and_never_cancels_early()
    {
        using var deadline = new ConnectionDeadline();
        deadline.Arm(2_000);
        CancellationToken token = deadline.Token;
        for (int i = 0; i < 30; i++)
        {
            await Task.Delay(ConnectionDeadline.TickMs);
            deadline.Arm(2_000); // each stage of a request re-arms
            Assert.False(token.IsCancellationRequested);
        }
        Assert.Equal(token, deadline.Token);
        Assert.True(await CancelledWithinAsync(token, 15_000));
    }

    [Fact]
    public void Arming_allocates_nothing_once_registered()
    {
        using var deadline = new ConnectionDeadline();
        deadline.Arm(60_000);
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 10_000; i++) deadline.Arm(60_000 + i); }));
    }

    [Fact]
    public async Task A_disposed_deadline_is_never_cancelled()
    {
        var deadline = new ConnectionDeadline();
        deadline.Arm(20);
        CancellationToken token = deadline.Token;
        deadline.Dispose();
        await Task.Delay(ConnectionDeadline.TickMs * 6);
        Assert.False(token.IsCancellationRequested);
    }
}
