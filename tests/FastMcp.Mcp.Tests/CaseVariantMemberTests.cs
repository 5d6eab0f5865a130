using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

/// <summary>
/// Go's encoding/json matches member names to struct fields ignoring letter case (folding U+017F to s and U+212A to
/// k), last one winning: names that differ only so are one member to such an upstream. The inspector refuses them
/// in any object (a pair) and where it reads names (a lone variant of a name it reads).
/// </summary>
public class CaseVariantMemberTests
{
    private static McpInspectError InspectEveryWay(string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        McpInspectError error = McpInspector.Inspect(bytes.AsSpan(), out McpCall call);
        Assert.Equal(error, McpInspector.Inspect(new ReadOnlySequence<byte>(bytes), out _));
        // Segment boundaries inside names (and inside multi-byte characters) change nothing.
        for (int cut = 1; cut < bytes.Length; cut += 7)
        {
            Assert.Equal(error, McpInspector.Inspect(Segments.Split(bytes, cut, Math.Min(cut + 1, bytes.Length - 1)), out _));
        }
        if (error != McpInspectError.None) Assert.Equal(default, call);
        return error;
    }

    private static string Call(string arguments) =>
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"arguments\":" + arguments + "}}";

    [Theory]
    // The review's inputs: decided as tools/list, run as tools/call by a Go upstream.
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/list","METHOD":"tools/call","params":{"name":"rm"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls","Name":"rm"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls"},"paramſ":{"name":"rm"}}""")]
    [InlineData("""{"jsonrpc":"2.0","JSONRPC":"1.0","id":1,"method":"ping"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"progressToken":1,"PROGRESSTOKEN":2}}}""")]
    // An answer to a server request carries a pair too.
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[],"Content":[1]}}""")]
    public void Envelope_and_params_pairs_that_fold_alike_are_refused(string json)
    {
        Assert.Equal(McpInspectError.CaseVariantMember, InspectEveryWay(json));
    }

    [Theory]
    [InlineData("""{"path":"/tmp/ok","Path":"/etc/passwd"}""")]
    [InlineData("""{"PATH":"/tmp/ok","path":"/etc/passwd"}""")]
    [InlineData("""{"path":"/tmp/ok","p\u0041th":"/etc/passwd"}""")]
    [InlineData("""{"p\u0061th":"/tmp/ok","PATH":"/etc/passwd"}""")]
    [InlineData("""{"key":"a","Key":"b"}""")]
    [InlineData("""{"key":"a","\u212Aey":"b"}""")]
    [InlineData("""{"s":1,"ſ":2}""")]
    [InlineData("""{"s":1,"\u017f":2}""")]
    [InlineData("""{"ΣΟΦΙΑ":1,"σοφια":2}""")]
    [InlineData("""{"σ":1,"ς":2}""")]
    [InlineData("""{"ß":1,"ẞ":2}""")]
    // U+023A folds to U+2C65, one byte longer.
    [InlineData("""{"Ⱥb":1,"ⱥB":2}""")]
    // Deseret, outside the BMP.
    [InlineData("""{"𐐀":1,"𐐨":2}""")]
    [InlineData("""{"a":{"b":[{"mode":"r","x":1,"MoDe":"w"}]}}""")]
    public void Argument_names_that_differ_only_in_letter_case_are_refused(string arguments)
    {
        Assert.Equal(McpInspectError.CaseVariantMember, InspectEveryWay(Call(arguments)));
    }

    [Theory]
    // Members the gateway reads, spelled in another case with no exact spelling beside them: the gateway would not
    // read them, a Go upstream would.
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{},"Method":"tools/call","params":{"name":"rm"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/list","paramſ":{"name":"rm"}}""")]
    [InlineData("""{"jsonrpc":"2.0","ID":1,"method":"tools/list"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"Result":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"eRRor":{"code":1,"message":"x"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","Jsonrpc":"2.0"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","P\u0041RAMS":{"name":"rm"},"params":{"name":"ls"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"Name":"rm"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls","Arguments":{}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"URI":"file:///etc/passwd"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_Meta":{}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"ProtocolVersion":"2025-06-18","clientInfo":{"name":"c","version":"1"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","clientinfo":{"name":"c","version":"1"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","clientInfo":{"NAME":"c","version":"1"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"progresstoken":1}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"io.modelcontextprotocol/PROTOCOLVERSION":"2026-07-28"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"io.modelcontextprotocol/clientInfo":{"name":"c","Version":"1"}}}}""")]
    public void A_lone_case_variant_of_a_name_the_gateway_reads_is_refused(string json)
    {
        Assert.Equal(McpInspectError.CaseVariantMember, InspectEveryWay(json));
    }

    [Theory]
    [InlineData("""{"a":1,"b":2}""")]
    [InlineData("""{"path":"/tmp","paths":["/tmp"],"Mode":"r","PathPrefix":"/"}""")]
    [InlineData("""{"a":{"Path":1},"b":{"path":2},"c":[{"PATH":3},{"path":4}]}""")]
    [InlineData("""{"s":1,"ss":2,"ß":3}""")]
    [InlineData("""{"ſ":1}""")]
    [InlineData("""{"K":1,"Å":2}""")]
    [InlineData("""{"Name":"x","URI":"y","Method":"z","_META":{"ID":1}}""")]
    [InlineData("""{"😀":1,"😁":2}""")]
    public void Distinct_names_pass(string arguments)
    {
        Assert.Equal(McpInspectError.None, InspectEveryWay(Call(arguments)));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"c","Cursor2":1}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"a","value":"v"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"Trace":"t","io.modelcontextprotocol/clientCapabilities":{}}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"},"Extra":1}""")]
    public void Names_the_gateway_does_not_read_pass_in_any_case(string json)
    {
        Assert.Equal(McpInspectError.None, InspectEveryWay(json));
    }

    [Theory]
    // segmentio/encoding (go-sdk 1.3.1-1.4.0) matched "method\u0000" to "method": a name with a control character
    // has no fold the gateway could trust, anywhere in the message, alone or beside its twin.
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/list","method\u0000":"tools/call","params":{"name":"rm"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{},"method\u0000":"tools/call"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ls","name\u0000":"rm"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"path\u001f":"/etc"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"a":{"\u007fpath":"/etc"}}}}""")]
    public void A_member_name_with_a_control_character_is_refused(string json)
    {
        Assert.Equal(McpInspectError.CaseVariantMember, InspectEveryWay(json));
    }

    [Fact]
    public void A_control_character_in_a_value_is_no_reason_to_refuse()
    {
        Assert.Equal(McpInspectError.None, InspectEveryWay(Call("""{"text":"a\u0000b\u001f"}""")));
    }

    [Theory]
    [InlineData("""{"a":1,"a":2,"A":3}""")]
    [InlineData("""{"A":1,"a":2,"a":3}""")]
    public void An_exact_repeat_is_reported_as_a_duplicate_even_beside_a_case_variant(string arguments)
    {
        Assert.Equal(McpInspectError.DuplicateMember, InspectEveryWay(Call(arguments)));
    }

    [Fact]
    public void A_batch_with_a_pair_in_a_member_is_refused_whole()
    {
        Assert.Equal(McpInspectError.CaseVariantMember,
            InspectEveryWay("""[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/list","METHOD":"tools/call"}]"""));
    }

    // Objects of up to 16 names are compared pairwise, larger ones sorted; past 64 names the hash list is rented;
    // past 256 bytes a name is unescaped and folded in rented buffers.
    [Theory]
    [InlineData(2, 4)]
    [InlineData(17, 4)]
    [InlineData(65, 4)]
    [InlineData(3, 300)]
    public void A_case_variant_is_found_whatever_the_object_and_name_size(int names, int nameLength)
    {
        string Name(int i) => "m" + i + new string('x', nameLength);
        string Members(int n) => string.Concat(Enumerable.Range(0, n).Select(i => $"\"{Name(i)}\":{i},"));
        Assert.Equal(McpInspectError.None, InspectEveryWay(Call("{" + Members(names - 1) + "\"last\":0}")));
        Assert.Equal(McpInspectError.CaseVariantMember, InspectEveryWay(Call("{" + Members(names - 1) + $"\"{Name(0).ToUpperInvariant()}\":0}}")));
        string escapedLast = string.Concat(Name(names - 2).ToUpperInvariant().Select(c => $"\\u{(int)c:x4}"));
        Assert.Equal(McpInspectError.CaseVariantMember, InspectEveryWay(Call("{" + Members(names - 1) + $"\"{escapedLast}\":0}}")));
    }

    [Fact]
    public void The_rejection_is_a_32600_that_says_letter_case()
    {
        Assert.Equal(JsonRpcErrorCodes.InvalidRequest, McpRejections.JsonRpcCode(McpInspectError.CaseVariantMember));
        Assert.Equal(400, McpRejections.HttpStatus(McpInspectError.CaseVariantMember));
        Assert.Contains("letter case", Encoding.UTF8.GetString(McpRejections.Message(McpInspectError.CaseVariantMember)), StringComparison.Ordinal);
    }
}
