using System.Text;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Stages;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Deciding a resource update the caller may subscribe to, or a log message the caller may set the level of, is on every
/// such event of a stream: it reads the URI (for an update) and asks the policy as PolicyAuthorization does, allocating
/// nothing in steady state.
/// </summary>
public sealed class ServerNotificationAllocationTests
{
    [Theory]
    [InlineData("file:///public/a")]          // a name the index holds exactly
    [InlineData("FILE://localhost/public/b")] // normalized first, then matched by a glob
    public void Deciding_an_allowed_update_allocates_nothing(string uri)
    {
        PolicyEngine engine = PolicyEngine.Compile(new PolicyOptions
        {
            Rules =
            [
                new RuleOptions { Name = "no-etc", Action = "deny", Names = ["file:///etc/*"] },
                new RuleOptions { Name = "exact", Action = "allow", Methods = ["resources/subscribe"], Names = ["file:///public/a"] },
                new RuleOptions { Name = "public", Action = "allow", Methods = ["resources/subscribe"], Names = ["file:///public/*"] },
            ],
        });
        byte[] evt = Encoding.UTF8.GetBytes("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":\""
            + uri + "\"}}\n\n");
        AssertAllowedWithoutAllocating(engine, evt);
    }

    [Fact]
    public void Deciding_an_allowed_log_message_allocates_nothing()
    {
        PolicyEngine engine = PolicyEngine.Compile(new PolicyOptions
        {
            Rules =
            [
                new RuleOptions { Name = "no-etc", Action = "deny", Names = ["file:///etc/*"] },
                new RuleOptions { Name = "logs", Action = "allow", Methods = ["logging/setLevel"], Groups = ["dev"] },
            ],
        });
        byte[] evt = Encoding.UTF8.GetBytes("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\","
            + "\"logger\":\"db\",\"data\":\"select 1\"}}\n\n");
        AssertAllowedWithoutAllocating(engine, evt);
    }

    /// <summary>Decides <paramref name="evt"/> for alice (group dev) 5,000 times after a warm-up: every time allowed, 0 bytes allocated.</summary>
    private static void AssertAllowedWithoutAllocating(PolicyEngine engine, byte[] evt)
    {
        var principal = new Principal("alice", ["dev"], [], "client", "issuer", DateTimeOffset.MaxValue);
        using var joined = new PooledBufferWriter(0);
        using var upstreamJoined = new PooledBufferWriter(0);
        Assert.Equal(StreamEventContent.Message, StreamEventMessage.Read(evt, joined, out ReadOnlyMemory<byte> json, out McpResponseView view));
        Assert.True(ServerNotificationDecision.Applies(view));

        int Decide(int times)
        {
            int allowed = 0;
            for (int i = 0; i < times; i++)
            {
                if (ServerNotificationDecision.Decide(engine, principal, evt, json, view, evt, upstreamJoined, "default", null, out _) == ServerNotificationVerdict.Allowed) allowed++;
            }
            return allowed;
        }

        Assert.Equal(1_000, Decide(1_000)); // warm-up: tiered JIT
        long allocated = ThreadAllocations.Measure(() => Decide(5_000), out int measured);
        Assert.Equal(5_000, measured);
        Assert.Equal(0, allocated);
    }
}
