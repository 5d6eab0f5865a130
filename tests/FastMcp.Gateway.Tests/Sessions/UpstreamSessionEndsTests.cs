using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Sessions;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;

namespace FastMcp.Gateway.Tests.Sessions;

/// <summary>One upstream's queue of session ends, with its worker stopped so that nothing is taken out while the test fills it.</summary>
public sealed class UpstreamSessionEndsTests
{
    private static UpstreamSessionEnds Stopped(out UpstreamRoute route)
    {
        // Nothing listens on port 9 here, and nothing is sent: the worker was stopped before it started.
        route = new UpstreamRoute("a", "/mcp", UpstreamUrl.Parse("http://127.0.0.1:9/mcp", "upstream.url"), new UpstreamOptions(), new HttpLimits(), null, ownsCredential: false);
        var ends = new UpstreamSessionEnds(route, new HttpLimits(), "http"u8.ToArray(), new CancellationToken(canceled: true));
        Assert.True(ends.Worker.Wait(TimeSpan.FromSeconds(10)), "the stopped worker did not end");
        return ends;
    }

    [Fact]
    public void A_full_queue_drops_its_oldest_ends_and_counts_them()
    {
        UpstreamSessionEnds ends = Stopped(out UpstreamRoute route);
        using (route)
        {
            for (int i = 0; i < UpstreamSessionEnds.QueueCapacity + 5; i++) ends.Enqueue(new PendingSessionEnd($"s-{i}", null));
            Assert.Equal(5, ends.Count(SessionEndResult.Dropped));
            Assert.Equal(0, ends.Count(SessionEndResult.Ended) + ends.Count(SessionEndResult.NotFound) + ends.Count(SessionEndResult.Failed));
        }
    }

    [Fact]
    public void Queueing_an_end_allocates_nothing_even_past_the_bound()
    {
        UpstreamSessionEnds ends = Stopped(out UpstreamRoute route);
        using (route)
        {
            var end = new PendingSessionEnd("0c6f4d9e2b7a41f3a8e5d1c2b3a49f87", "2025-06-18");
            ends.Enqueue(end);
            int windows = 0;
            Assert.Equal(0, ThreadAllocations.Measure(() => { windows++; for (int i = 0; i < 2 * UpstreamSessionEnds.QueueCapacity; i++) ends.Enqueue(end); }));
            // The first window fills the queue and drops the rest; a window repeated after a collection drops all it enqueues.
            Assert.Equal(UpstreamSessionEnds.QueueCapacity + 1 + 2 * UpstreamSessionEnds.QueueCapacity * (windows - 1), ends.Count(SessionEndResult.Dropped));
        }
    }
}
