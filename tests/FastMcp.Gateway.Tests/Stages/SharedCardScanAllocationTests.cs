using System.Buffers;
using System.Text;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Http;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Pan;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The request's one card-number scan, the policy decision that reads it (containsCardNumber on the whole arguments, the
/// benchmark's rule) and request masking that reads it allocate nothing in steady state: for a call with nothing to mask
/// (masking skipped) and for one denied for a card number in its arguments (masked, counted and fingerprinted).
/// </summary>
public sealed class SharedCardScanAllocationTests
{
    [Theory]
    [InlineData("""{"text":"hello"}""", PolicyAction.Allow)]
    [InlineData("""{"text":"pay with 4111 1111 1111 1111 today"}""", PolicyAction.Deny)]
    public void Scanning_deciding_and_masking_a_request_allocate_nothing(string arguments, PolicyAction expected)
    {
        var authorization = new PolicyAuthorization(PolicyEngine.Compile(new PolicyOptions
        {
            Rules =
            [
                new RuleOptions { Name = "no-cards-in-arguments", Action = "deny", Methods = ["tools/call"],
                    Arguments = [new ArgumentConditionOptions { Pointer = "", ContainsCardNumber = true }] },
                new RuleOptions { Name = "bench-tools", Action = "allow", Methods = ["tools/call"], Names = ["echo"] },
            ],
        }));
        var masking = new PanMasking(new PanMasker(new PanMaskingOptions { FingerprintKey = new byte[32] }), RequestCardMode.Mask);
        var request = new HttpRequestHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, request.Parse(Encoding.ASCII.GetBytes("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\r\n")));
        var exchange = new Exchange(request);
        var principal = new Principal("alice", [], [], null, "issuer", DateTimeOffset.MaxValue);
        byte[] sent = Encoding.UTF8.GetBytes(CardGateway.ToolCall("1", "echo", arguments));
        byte[] body = (byte[])sent.Clone();
        var sequence = new ReadOnlySequence<byte>(body);
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(sequence, out McpCall call));
        var scan = new MessageCardScan();
        using var scratch = new PooledBufferWriter(256);
        using var copy = new PooledBufferWriter(1024);

        int decided = 0;
        void Once()
        {
            sent.CopyTo(body, 0);
            exchange.RequestCards.Reset();
            scan.Scan(body, masking.Masker);
            if (authorization.Decide(principal, call, sequence, scratch, "default", default, null, scan).Action == expected) decided++;
            masking.ApplyToRequest(exchange, sequence, request, copy, out _, scan);
        }
        for (int i = 0; i < 1_000; i++) Once();
        // The measured body may run in more than one window (ThreadAllocations): each counts its own decisions.
        Action measured = () => { decided = 0; for (int i = 0; i < 10_000; i++) Once(); };
        long allocated = ThreadAllocations.Measure(measured);

        Assert.Equal(0, allocated);
        Assert.Equal(10_000, decided);
        Assert.Equal(expected == PolicyAction.Deny ? 1 : 0, exchange.RequestCards.Count);
    }
}
