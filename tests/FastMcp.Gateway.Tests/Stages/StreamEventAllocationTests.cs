using System.Text;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Http;
using FastMcp.Identity;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The per-event work a stream now does for every message (reading it as a client would, and queueing its own audit
/// record) allocates nothing on the relaying thread in steady state: a progress notification costs no object.
/// </summary>
public sealed class StreamEventAllocationTests
{
    private static readonly byte[] ProgressEvent = Encoding.UTF8.GetBytes(
        "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"p1\",\"progress\":1}}\n\n");

    [Fact]
    public async Task Reading_and_recording_a_notification_event_allocates_nothing_per_event()
    {
        await using CardGateway g = await CardGateway.StartAsync();
        AuditRecording audit = g.Gateway.Stages.Audit!;
        var exchange = new Exchange(new HttpRequestHead(new HttpLimits()))
        {
            Principal = new Principal("alice", ["dev"], [], "client", "issuer", DateTimeOffset.MaxValue),
            ResponseStatus = 200,
        };
        using var scratch = new AuditRecording.Scratch();
        using var joined = new PooledBufferWriter(0);

        // Events come in bursts of 100 and the log's writer takes each burst before the next (as on a live stream, where
        // the writer keeps up): a tight loop of thousands would only measure the pending batch growing to hold them all.
        int Relay(int events)
        {
            int recorded = 0;
            for (int i = 0; i < events; i++)
            {
                // (No Assert inside the loop: xunit's comparers allocate.)
                if (StreamEventMessage.Read(ProgressEvent, joined, out ReadOnlyMemory<byte> json, out McpResponseView view) != StreamEventContent.Message
                    || view.Kind != McpMessageKind.Notification) continue;
                audit.RecordStreamMessage(exchange, scratch, "127.0.0.1", json, view);
                recorded++;
                if (recorded % 100 == 0)
                {
                    for (int wait = 0; wait < 10_000 && audit.Log.QueueDepth > 0; wait++) Thread.Sleep(1);
                }
            }
            return recorded;
        }

        Assert.Equal(2_000, Relay(2_000)); // warm-up: tiered JIT, the string cache, the log's pooled buffers
        long readOnly = ThreadAllocations.Measure(() => { for (int i = 0; i < 5_000; i++) StreamEventMessage.Read(ProgressEvent, joined, out _, out _); });
        Assert.True(readOnly < 8 * 1024, $"{readOnly} bytes allocated reading 5,000 notification events");
        long allocated = ThreadAllocations.Measure(() => Relay(5_000), out int measured);
        Assert.Equal(5_000, measured);
        // One 24-byte object per event would be 120,000 bytes: the bound is far below that, not exactly zero (the log's
        // pending batch grows now and then, amortized).
        Assert.True(allocated < 32 * 1024, $"{allocated} bytes allocated over 5,000 recorded notification events");
    }
}
