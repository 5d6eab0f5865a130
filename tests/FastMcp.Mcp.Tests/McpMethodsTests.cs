using System.Text;

namespace FastMcp.Mcp.Tests;

public class McpMethodsTests
{
    public static TheoryData<McpMethod> KnownMethods()
    {
        var data = new TheoryData<McpMethod>();
        foreach (McpMethod m in Enum.GetValues<McpMethod>())
        {
            if (m != McpMethod.Unknown) data.Add(m);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(KnownMethods))]
    public void Every_method_round_trips_through_its_wire_name(McpMethod method)
    {
        string name = McpMethods.Name(method);
        Assert.NotEmpty(name);
        Assert.Equal(method, McpMethods.Parse(Encoding.UTF8.GetBytes(name)));
        Assert.Equal(name, Encoding.UTF8.GetString(McpMethods.NameUtf8(method)));
        Assert.True(name.Length <= McpMethods.MaxNameLength);
    }

    [Fact]
    public void Wire_names_are_unique()
    {
        var names = new HashSet<string>();
        foreach (McpMethod m in Enum.GetValues<McpMethod>())
        {
            if (m != McpMethod.Unknown) Assert.True(names.Add(McpMethods.Name(m)), McpMethods.Name(m));
        }
    }

    [Theory]
    [InlineData("initialize", McpMethod.Initialize)]
    [InlineData("tools/call", McpMethod.ToolsCall)]
    [InlineData("resources/templates/list", McpMethod.ResourcesTemplatesList)]
    [InlineData("server/discover", McpMethod.ServerDiscover)]
    [InlineData("subscriptions/listen", McpMethod.SubscriptionsListen)]
    [InlineData("notifications/roots/list_changed", McpMethod.NotificationsRootsListChanged)]
    [InlineData("notifications/subscriptions/acknowledged", McpMethod.NotificationsSubscriptionsAcknowledged)]
    [InlineData("Tools/call", McpMethod.Unknown)]
    [InlineData("tools/call ", McpMethod.Unknown)]
    [InlineData("tools/cal", McpMethod.Unknown)]
    [InlineData("", McpMethod.Unknown)]
    [InlineData("x-vendor/thing", McpMethod.Unknown)]
    public void Parse_is_exact_and_case_sensitive(string wire, McpMethod expected)
    {
        Assert.Equal(expected, McpMethods.Parse(Encoding.UTF8.GetBytes(wire)));
    }

    [Fact]
    public void Unknown_has_no_name()
    {
        Assert.Equal("", McpMethods.Name(McpMethod.Unknown));
        Assert.True(McpMethods.NameUtf8(McpMethod.Unknown).IsEmpty);
    }
}
