using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

public class ListenResourceSubscriptionsTests
{
    private struct Collect : IResourceSubscriptionVisitor
    {
        public List<string> Uris;
        public string? StopAt;

        public bool Visit(scoped ReadOnlySpan<byte> uri)
        {
            string text = Encoding.UTF8.GetString(uri);
            Uris.Add(text);
            return text != StopAt;
        }
    }

    private struct Count : IResourceSubscriptionVisitor
    {
        public int N;

        public bool Visit(scoped ReadOnlySpan<byte> uri)
        {
            N += uri.Length > 0 ? 1 : 0;
            return true;
        }
    }

    private static (bool Ok, List<string> Uris) Walk(string json, string? stopAt = null)
    {
        var visitor = new Collect { Uris = [], StopAt = stopAt };
        bool ok = ListenResourceSubscriptions.Walk(Segments.Of(json), ref visitor);
        return (ok, visitor.Uris);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["a://1","b:\/\/2"]}}}""", "a://1|b://2")]
    [InlineData("""{"params":{"_meta":{},"notifications":{"toolsListChanged":true,"resourceSubscriptions":[]}},"id":1}""", "")]
    [InlineData("""{"params":{"notifications":{"toolsListChanged":true}}}""", "")]
    [InlineData("""{"params":{"notifications":null}}""", "")]
    [InlineData("""{"params":{}}""", "")]
    [InlineData("""{"id":1}""", "")]
    public void Every_subscribed_uri_is_visited_unescaped(string json, string uris)
    {
        var (ok, seen) = Walk(json);
        Assert.True(ok);
        Assert.Equal(uris, string.Join('|', seen));
    }

    [Theory]
    [InlineData("""{"params":{"notifications":{"resourceSubscriptions":["a://1",2]}}}""")]
    [InlineData("""{"params":{"notifications":{"resourceSubscriptions":"a://1"}}}""")]
    [InlineData("""{"params":{"notifications":[]}}""")]
    [InlineData("""{"params":{"Notifications":{"resourceSubscriptions":["a://1"]}}}""")]
    [InlineData("""{"params":{"notifications":{"ResourceSubscriptions":["a://1"]}}}""")]
    public void A_list_that_cannot_be_read_as_uri_strings_is_not_walked(string json)
    {
        Assert.False(Walk(json).Ok);
    }

    [Fact]
    public void The_visitor_stops_the_walk()
    {
        var (ok, seen) = Walk("""{"params":{"notifications":{"resourceSubscriptions":["a://1","b://2","c://3"]}}}""", stopAt: "b://2");
        Assert.False(ok);
        Assert.Equal(["a://1", "b://2"], seen);
    }

    [Fact]
    public void A_uri_longer_than_the_policy_decides_is_not_walked()
    {
        Assert.False(Walk("{\"params\":{\"notifications\":{\"resourceSubscriptions\":[\"a://" + new string('x', 1100) + "\"]}}}").Ok);
    }

    [Fact]
    public void Walking_allocates_nothing()
    {
        ReadOnlySequence<byte> body = Segments.Split(Encoding.UTF8.GetBytes(
            """{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["file:///a","file:\/\/\/b"]}}}"""), 40);
        var visitor = new Count();
        ListenResourceSubscriptions.Walk(body, ref visitor);
        int windows = 0;
        Assert.Equal(0, ThreadAllocations.Measure(() => { windows++; for (int i = 0; i < 100; i++) ListenResourceSubscriptions.Walk(body, ref visitor); }));
        Assert.Equal(2 * (1 + 100 * windows), visitor.N);
    }
}
