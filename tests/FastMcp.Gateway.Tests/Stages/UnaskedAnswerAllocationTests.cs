using System.Buffers;
using System.Text;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Sessions;
using FastMcp.Http;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Checking a POST's answer against the request's id (Forwarding/UnaskedAnswer.cs) is on every answer of a plain route: for
/// a single request, as a JSON body and as an event's message, it allocates nothing.
/// </summary>
public sealed class UnaskedAnswerAllocationTests
{
    private static readonly byte[] Request = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"tools/call\",\"params\":{\"name\":\"a\"}}");
    private static readonly byte[] Answer = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":42,\"result\":{\"content\":[]}}");
    private static readonly byte[] ForeignAnswer = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":43,\"result\":{\"content\":[]}}");
    private static readonly byte[] AnswerEvent = Encoding.UTF8.GetBytes("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":42,\"result\":{\"content\":[]}}\n\n");

    [Fact]
    public void Checking_a_single_requests_json_and_streamed_answers_allocates_nothing()
    {
        var exchange = new Exchange(new HttpRequestHead(new HttpLimits())) { Body = new ReadOnlySequence<byte>(Request) };
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(exchange.Body, out exchange.Call));
        exchange.HasCall = true;
        var unanswered = new UnansweredStreamCalls();
        using var joined = new PooledBufferWriter(0);

        int Check(int times)
        {
            int unasked = 0;
            for (int i = 0; i < times; i++)
            {
                // (No Assert inside the loop: xunit's comparers allocate.)
                // A body as the relay checks it: its one reading (the relay keeps it for the body's other checks), then the ids.
                if (!McpResponseInspector.TryInspectValidUtf8(new ReadOnlySequence<byte>(Answer), out McpResponseView answer)
                    || UnaskedAnswer.Is(exchange, Answer, answer, isBody: true, unanswered)) unasked++;
                if (!McpResponseInspector.TryInspectValidUtf8(new ReadOnlySequence<byte>(ForeignAnswer), out McpResponseView foreign)
                    || !UnaskedAnswer.Is(exchange, ForeignAnswer, foreign, isBody: true, unanswered)) unasked++;
                if (StreamEventMessage.Read(AnswerEvent, joined, out ReadOnlyMemory<byte> json, out McpResponseView view) != StreamEventContent.Message
                    || UnaskedAnswer.Is(exchange, json, view, isBody: false, unanswered)) unasked++;
            }
            return unasked;
        }

        Assert.Equal(0, Check(2_000)); // warm-up: tiered JIT
        long allocated = ThreadAllocations.Measure(() => Check(5_000), out int wrong);
        Assert.Equal(0, wrong);
        Assert.True(allocated < 1024, $"{allocated} bytes allocated checking 15,000 answers");
    }
}
