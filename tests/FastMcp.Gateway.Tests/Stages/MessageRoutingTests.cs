using FastMcp.Gateway.Stages;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Every kind of message the inspector can report has a route through the data path. A kind added to
/// McpMessageKind without one fails here (and is refused by the gateway meanwhile: never forwarded undecided).
/// </summary>
public sealed class MessageRoutingTests
{
    public static TheoryData<McpMessageKind> Kinds()
    {
        var data = new TheoryData<McpMessageKind>();
        foreach (McpMessageKind kind in Enum.GetValues<McpMessageKind>()) data.Add(kind);
        return data;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_message_kind_has_a_route(McpMessageKind kind) =>
        Assert.NotEqual(MessageRoute.Refuse, MessageRouting.For(kind));

    [Fact]
    public void Requests_and_notifications_are_decided_answers_to_the_server_are_not_batches_route_per_member()
    {
        Assert.Equal(MessageRoute.Decide, MessageRouting.For(McpMessageKind.Request));
        Assert.Equal(MessageRoute.Decide, MessageRouting.For(McpMessageKind.Notification));
        Assert.Equal(MessageRoute.AnswerToServer, MessageRouting.For(McpMessageKind.Response));
        Assert.Equal(MessageRoute.AnswerToServer, MessageRouting.For(McpMessageKind.ErrorResponse));
        Assert.Equal(MessageRoute.Batch, MessageRouting.For(McpMessageKind.Batch));
    }

    [Fact]
    public void A_kind_without_a_route_is_refused() =>
        Assert.Equal(MessageRoute.Refuse, MessageRouting.For((McpMessageKind)200));
}
