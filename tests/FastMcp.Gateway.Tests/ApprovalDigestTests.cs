using System.Text;
using FastMcp.Gateway.Approvals;

namespace FastMcp.Gateway.Tests;

/// <summary>The digest an approval is bound to: the same call, however it is written, and nothing else.</summary>
public sealed class ApprovalDigestTests
{
    private static string Params(string args, string name = "deploy") => "{\"name\":\"" + name + "\",\"arguments\":" + args + "}";

    private static string Digest(string paramsJson, string method = "tools/call", params string[] cards) =>
        ApprovalDigest.Compute(method, Encoding.UTF8.GetBytes(paramsJson), cards);

    [Fact]
    public void Member_order_and_whitespace_do_not_change_the_digest()
    {
        string a = Digest(Params("""{"env":"prod","replicas":3,"tags":["a","b"],"opts":{"x":1,"y":null}}"""));
        string b = Digest("""{ "arguments": { "opts": { "y": null, "x": 1 }, "tags": [ "a", "b" ], "replicas": 3, "env": "prod" }, "name" : "deploy" }""");
        Assert.Equal(a, b);
        Assert.StartsWith("sha256:", a);
        Assert.Equal(7 + 64, a.Length);
    }

    [Fact]
    public void Escaped_and_plain_spellings_of_a_string_are_the_same_argument()
    {
        Assert.Equal(Digest(Params("""{"env":"prod"}""")), Digest(Params("""{"env":"\u0070rod"}""")));
    }

    [Theory]
    [InlineData("""{"env":"prod","replicas":4}""")]
    [InlineData("""{"env":"prod ","replicas":3}""")]
    [InlineData("""{"env":"prod","replicas":3,"force":true}""")]
    [InlineData("""{"env":"prod","replicas":[3]}""")]
    [InlineData("""{"Env":"prod","replicas":3}""")]
    [InlineData("""{"env":"prod","replicas":"3"}""")]
    public void Any_changed_argument_changes_the_digest(string changed)
    {
        Assert.NotEqual(Digest(Params("""{"env":"prod","replicas":3}""")), Digest(Params(changed)));
    }

    [Theory]
    [InlineData("""{"name":"deploy","arguments":{"env":"prod"},"target":"eu"}""")]
    [InlineData("""{"name":"deploy","arguments":{"env":"prod"},"_meta":{"tenant":"b"}}""")]
    [InlineData("""{"name":"deploy","arguments":{"env":"prod"},"_meta":{"progressToken":1,"tenant":"b"}}""")]
    [InlineData("""{"name":"deploy","arguments":{"env":"prod"},"task":{"ttl":60}}""")]
    [InlineData("""{"name":"deploy"}""")]
    public void Every_other_params_member_is_bound_too(string changed)
    {
        Assert.NotEqual(Digest("""{"name":"deploy","arguments":{"env":"prod"}}"""), Digest(changed));
    }

    [Fact]
    public void Only_the_progress_token_is_left_out()
    {
        string plain = Digest("""{"name":"deploy","arguments":{"env":"prod"}}""");
        Assert.Equal(plain, Digest("""{"name":"deploy","arguments":{"env":"prod"},"_meta":{"progressToken":"a1"}}"""));
        Assert.Equal(plain, Digest("""{"_meta":{"progressToken":7},"name":"deploy","arguments":{"env":"prod"}}"""));
        // Other _meta members stay bound, with or without a progress token beside them.
        Assert.Equal(Digest("""{"name":"deploy","arguments":{},"_meta":{"tenant":"a"}}"""),
            Digest("""{"name":"deploy","arguments":{},"_meta":{"tenant":"a","progressToken":"x"}}"""));
        // A progressToken anywhere else is ordinary content.
        Assert.NotEqual(Digest("""{"name":"deploy","arguments":{}}"""), Digest("""{"name":"deploy","arguments":{"progressToken":1}}"""));
    }

    [Fact]
    public void Method_name_and_card_fingerprints_are_bound_too()
    {
        string baseline = Digest(Params("{}"));
        Assert.NotEqual(baseline, Digest(Params("{}", name: "undeploy")));
        Assert.NotEqual(baseline, Digest(Params("{}"), method: "prompts/get"));
        Assert.NotEqual(baseline, Digest(Params("{}"), "tools/call", "aa11"));
        Assert.Equal(Digest(Params("{}"), "tools/call", "aa11", "bb22"), Digest(Params("{}"), "tools/call", "bb22", "aa11"));
        // No params and empty params are the same call.
        Assert.Equal(Digest("{}", "ping"), ApprovalDigest.Compute("ping", default(ReadOnlySpan<byte>), []));
    }

    [Fact]
    public void Canonical_params_are_compact_and_sorted_and_what_approvers_see()
    {
        Assert.Equal("""{"arguments":{"a":[1,{"c":2,"d":3}],"b":"x"},"name":"t"}""",
            ApprovalDigest.CanonicalParams(Encoding.UTF8.GetBytes("""{ "name":"t", "arguments": { "b" : "x", "a" : [ 1, { "d": 3, "c": 2 } ] }, "_meta": { "progressToken": 5 } }""")));
    }

    [Fact]
    public void The_query_is_bound_and_a_call_without_one_binds_an_empty_line()
    {
        string none = Digest(Params("""{"env":"prod"}"""));
        byte[] p = Encoding.UTF8.GetBytes(Params("""{"env":"prod"}"""));
        Assert.Equal(none, ApprovalDigest.Compute("tools/call", p, [], ""));
        string a = ApprovalDigest.Compute("tools/call", p, [], "?tenant=a");
        Assert.NotEqual(none, a);
        Assert.NotEqual(a, ApprovalDigest.Compute("tools/call", p, [], "?tenant=b"));
        // The canonical text, line by line, as docs/approvals.md gives it.
        string text = "fastmcp-approval-v4\nmethod:tools/call\nparams:{\"arguments\":{\"env\":\"prod\"},\"name\":\"deploy\"}\nquery:?tenant=a\nheaders:\ncards:\n";
        Assert.Equal("sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text))), a);
    }

    private static string Sha256(string text) =>
        "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void The_forwarded_header_fields_are_bound_in_the_documented_v4_form()
    {
        byte[] p = Encoding.UTF8.GetBytes(Params("""{"env":"prod"}"""));
        // Sorted by lowercased name, then in order of appearance; %, comma, controls and non-ASCII bytes percent-encoded.
        string headers = ApprovalDigest.HeadersLine([
            ("X-MCP-Toolsets", "repos,issues"u8.ToArray()),
            ("X-MCP-Readonly", "true"u8.ToArray()),
            ("x-mcp-toolsets", "100%\tnot\u00e9"u8.ToArray()),
        ]);
        Assert.Equal("x-mcp-readonly:true,x-mcp-toolsets:repos%2Cissues,x-mcp-toolsets:100%25%09not%C3%A9", headers);

        string digest = ApprovalDigest.Compute("tools/call", p, ["bb22", "aa11"], "?tenant=a", headers);
        Assert.Equal(Sha256("fastmcp-approval-v4\nmethod:tools/call\nparams:{\"arguments\":{\"env\":\"prod\"},\"name\":\"deploy\"}\nquery:?tenant=a\n"
            + "headers:x-mcp-readonly:true,x-mcp-toolsets:repos%2Cissues,x-mcp-toolsets:100%25%09not%C3%A9\ncards:aa11,bb22\n"), digest);
        // Another value, or none, is another call.
        Assert.NotEqual(digest, ApprovalDigest.Compute("tools/call", p, ["aa11", "bb22"], "?tenant=a", ApprovalDigest.HeadersLine([("X-MCP-Readonly", "false"u8.ToArray())])));
        Assert.NotEqual(digest, ApprovalDigest.Compute("tools/call", p, ["aa11", "bb22"], "?tenant=a"));
    }

    [Fact]
    public void The_documented_example_digest_is_what_the_gateway_computes()
    {
        // docs/approvals.md, "The digest": the worked example an independent verifier can check itself against.
        string headers = ApprovalDigest.HeadersLine([("X-MCP-Toolsets", "repos,issues"u8.ToArray()), ("X-MCP-Readonly", "true"u8.ToArray())]);
        string digest = ApprovalDigest.Compute("tools/call", """{"name":"create_issue","arguments":{"repo":"acme/api","title":"Card 411111******1111 declined"}}"""u8,
            ["3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3c"], "?tenant=eu", headers);
        Assert.Equal(Sha256("fastmcp-approval-v4\nmethod:tools/call\n"
            + "params:{\"arguments\":{\"repo\":\"acme/api\",\"title\":\"Card 411111******1111 declined\"},\"name\":\"create_issue\"}\n"
            + "query:?tenant=eu\nheaders:x-mcp-readonly:true,x-mcp-toolsets:repos%2Cissues\n"
            + "cards:3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3c\n"), digest);
        Assert.Equal(DocumentedExampleDigest, digest);
    }

    // The value docs/approvals.md prints for the example above (kept in step with it by this test).
    private const string DocumentedExampleDigest = "sha256:facd007d94261a713ee9d9dcb3dd1b2e746d53d7bb9bb7682afabc28012ce7d0";
}
