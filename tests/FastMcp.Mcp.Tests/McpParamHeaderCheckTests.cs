using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

public class McpParamHeaderCheckTests
{
    private const string Call = """
        {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"execute_sql","arguments":{
          "query":"SELECT 1","region":"us-west1","greeting":"Hello, \u4e16\u754c","limit":42,"dry":false,"nothing":null,
          "target":{"db":{"name":"orders"},"list":[1]},"name":"decoy"}}}
        """;

    private static McpHeaderMismatch Check(string header, params string[] path) => Check(Call, header, path);

    private static McpHeaderMismatch Check(string json, string header, params string[] path)
    {
        byte[][] keys = path.Select(Encoding.UTF8.GetBytes).ToArray();
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        ReadOnlySequence<byte> body = new(bytes);
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(body, out McpCall call));
        McpHeaderMismatch result = McpParamHeaderCheck.Check(body, call, keys, Encoding.UTF8.GetBytes(header));
        ReadOnlySequence<byte> split = Segments.Split(bytes, bytes.Length / 3, bytes.Length / 2);
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(split, out McpCall splitCall));
        Assert.Equal(result, McpParamHeaderCheck.Check(split, splitCall, keys, Encoding.UTF8.GetBytes(header)));
        return result;
    }

    [Theory]
    [InlineData("us-west1", McpHeaderMismatch.None, "region")]
    [InlineData("us-east1", McpHeaderMismatch.ParamMismatch, "region")]
    [InlineData("", McpHeaderMismatch.MissingParamHeader, "region")]
    [InlineData("=?base64?SGVsbG8sIOS4lueVjA==?=", McpHeaderMismatch.None, "greeting")]
    [InlineData("=?base64?SGVsbG8sIOS4lueVjA=?=", McpHeaderMismatch.MalformedEncodedValue, "greeting")]
    [InlineData("42", McpHeaderMismatch.None, "limit")]
    [InlineData("42.0", McpHeaderMismatch.None, "limit")]
    [InlineData("43", McpHeaderMismatch.ParamMismatch, "limit")]
    [InlineData("42abc", McpHeaderMismatch.ParamMismatch, "limit")]
    [InlineData("false", McpHeaderMismatch.None, "dry")]
    [InlineData("False", McpHeaderMismatch.ParamMismatch, "dry")]
    [InlineData("", McpHeaderMismatch.None, "nothing")]
    [InlineData("null", McpHeaderMismatch.ParamMismatch, "nothing")]
    [InlineData("", McpHeaderMismatch.None, "absent")]
    [InlineData("x", McpHeaderMismatch.ParamMismatch, "absent")]
    [InlineData("orders", McpHeaderMismatch.None, "target", "db", "name")]
    [InlineData("decoy", McpHeaderMismatch.ParamMismatch, "target", "db", "name")]
    [InlineData("decoy", McpHeaderMismatch.None, "name")]
    [InlineData("1", McpHeaderMismatch.ParamMismatch, "target", "list")]
    [InlineData("", McpHeaderMismatch.None, "query", "deeper")]
    public void Param_header_matrix(string header, McpHeaderMismatch expected, params string[] path)
    {
        Assert.Equal(expected, Check(header, path));
    }

    [Fact]
    public void Calls_without_arguments_expect_no_param_headers()
    {
        const string json = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}""";
        Assert.Equal(McpHeaderMismatch.None, Check(json, "", "region"));
        Assert.Equal(McpHeaderMismatch.ParamMismatch, Check(json, "us-west1", "region"));
    }

    [Fact]
    public void Checking_allocates_nothing()
    {
        var body = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(Call));
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(body, out McpCall call));
        byte[][] path = ["target"u8.ToArray(), "db"u8.ToArray(), "name"u8.ToArray()];
        byte[] header = "=?base64?b3JkZXJz?="u8.ToArray();
        Assert.Equal(McpHeaderMismatch.None, McpParamHeaderCheck.Check(body, call, path, header));
        for (int i = 0; i < 50; i++) McpParamHeaderCheck.Check(body, call, path, header);
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 2_000; i++) McpParamHeaderCheck.Check(body, call, path, header); }));
    }
}
