using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

/// <summary>params.uri of a notifications/resources/updated, read as a client reads it, or not at all.</summary>
public class ResourceUpdatedUriTests
{
    private static string? Read(string paramsJson)
    {
        string message = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":" + paramsJson + "}";
        byte[] bytes = Encoding.UTF8.GetBytes(message);
        Assert.True(McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(bytes), out McpResponseView view));
        Span<byte> uri = stackalloc byte[ResourceUpdatedUri.MaxUriBytes];
        int length = ResourceUpdatedUri.Read(bytes, view.ParamsRange, uri);
        return length < 0 ? null : Encoding.UTF8.GetString(uri[..length]);
    }

    [Theory]
    [InlineData("""{"uri":"file:///public/a"}""", "file:///public/a")]
    [InlineData("""{"_meta":{"x":1},"uri":"file:\/\/\/etc\/passwd"}""", "file:///etc/passwd")]
    [InlineData("""{"ur\u0069":"file:///a"}""", "file:///a")]
    public void Reads_the_uri_unescaped(string parameters, string expected) => Assert.Equal(expected, Read(parameters));

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"uri":7}""")]
    [InlineData("""{"uri":null}""")]
    [InlineData("""{"uri":""}""")]
    [InlineData("""{"URI":"file:///etc/passwd"}""")]
    [InlineData("""{"uri":["file:///a"]}""")]
    [InlineData("""{"Uri":"file:///etc/passwd","other":1}""")]
    public void Refuses_what_has_no_single_reading(string parameters) => Assert.Null(Read(parameters));

    [Fact]
    public void Refuses_a_uri_over_the_listen_walks_bound_and_takes_one_at_it()
    {
        string at = "file:///" + new string('a', ResourceUpdatedUri.MaxUriBytes - 8);
        Assert.Equal(at, Read("{\"uri\":\"" + at + "\"}"));
        Assert.Null(Read("{\"uri\":\"" + at + "a\"}"));
    }

    [Fact]
    public void Without_params_there_is_nothing_to_read()
    {
        Span<byte> uri = stackalloc byte[ResourceUpdatedUri.MaxUriBytes];
        Assert.Equal(-1, ResourceUpdatedUri.Read("{}"u8, default, uri));
    }
}
