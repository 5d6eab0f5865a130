using System.Buffers;
using System.Text;
using FastMcp.Mcp;

namespace FastMcp.Mcp.Tests;

/// <summary>Which list an answer holds, from its result's direct members alone (for answers no call identifies).</summary>
public sealed class ListResultShapeTests
{
    private static (bool Ok, McpMethod List) Find(string json)
    {
        bool ok = ListResultShape.TryFind(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json)), out McpMethod list);
        return (ok, list);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}""", McpMethod.ToolsList)]
    [InlineData("""{"result":{"nextCursor":"x","prompts":[{"name":"p"}]},"id":1,"jsonrpc":"2.0"}""", McpMethod.PromptsList)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"resources":[]}}""", McpMethod.ResourcesList)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[]}}""", McpMethod.ResourcesTemplatesList)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"\u0074ools":[]}}""", McpMethod.ToolsList)]            // escaped key: what a client reads
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":{"not":"an array"}}}""", McpMethod.ToolsList)]  // the filter then refuses it
    public void A_result_holding_one_kind_of_list_is_that_list(string json, McpMethod expected) => Assert.Equal((true, expected), Find(json));

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"tools"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"capabilities":{"tools":{},"prompts":{}},"protocolVersion":"2025-06-18"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{"tools":[]}}""")]
    public void A_result_holding_no_list_member_is_no_list(string json) => Assert.Equal((true, McpMethod.Unknown), Find(json));

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[],"prompts":[]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"resources":[],"resourceTemplates":[]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[""")]
    public void Several_kinds_of_list_or_a_broken_message_cannot_be_told(string json) => Assert.False(Find(json).Ok);
}
