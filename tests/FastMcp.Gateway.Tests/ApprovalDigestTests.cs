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
        string text = "fastmcp-approval-v5\nmethod:tools/call\nparams:{\"arguments\":{\"env\":\"prod\"},\"name\":\"deploy\"}\nquery:?tenant=a\nheaders:\ncookies:\ncards:\n";
        Assert.Equal("sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text))), a);
    }

    private static string Sha256(string text) =>
        "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void The_forwarded_header_fields_are_bound_in_the_documented_form()
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
        Assert.Equal(Sha256("fastmcp-approval-v5\nmethod:tools/call\nparams:{\"arguments\":{\"env\":\"prod\"},\"name\":\"deploy\"}\nquery:?tenant=a\n"
            + "headers:x-mcp-readonly:true,x-mcp-toolsets:repos%2Cissues,x-mcp-toolsets:100%25%09not%C3%A9\ncookies:\ncards:aa11,bb22\n"), digest);
        // Another value, or none, is another call.
        Assert.NotEqual(digest, ApprovalDigest.Compute("tools/call", p, ["aa11", "bb22"], "?tenant=a", ApprovalDigest.HeadersLine([("X-MCP-Readonly", "false"u8.ToArray())])));
        Assert.NotEqual(digest, ApprovalDigest.Compute("tools/call", p, ["aa11", "bb22"], "?tenant=a"));
    }

    // The key docs/approvals.md's worked example uses as the card fingerprint key.
    private static readonly byte[] ExampleFingerprintKey = Convert.FromHexString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

    private static string Mac(byte[] key, string value) =>
        Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(value)));

    [Fact]
    public void The_cookie_key_is_derived_from_the_fingerprint_key_under_its_own_label()
    {
        byte[] key = ApprovalCookies.Key(ExampleFingerprintKey);
        Assert.Equal("37e6a092074329172ad31e33c7bf46f17eeb7b397f94c00f6fc0e2dccdf81b92", Convert.ToHexStringLower(key));
        // Without a fingerprint key, one random key for the process: stable within it, unlike any derived one.
        Assert.Equal(ApprovalCookies.Key(null), ApprovalCookies.Key([]));
        Assert.NotEqual(key, ApprovalCookies.Key(null));
    }

    [Fact]
    public void Cookies_are_split_into_pairs_sorted_by_name_with_duplicates_in_the_order_sent_and_values_never_written()
    {
        byte[] key = ApprovalCookies.Key(ExampleFingerprintKey);
        string line = ApprovalCookies.Line([
            (false, "sid=s3cret ; env=staging;;  Env=Prod\t"u8.ToArray()),
            (false, "env=b; bare-token; =nameless"u8.ToArray()),
            (true, "$Version=1"u8.ToArray()),
            (false, "we,ird%:n\u00e9=v"u8.ToArray()),
        ], key);
        Assert.Equal(
            $"{Mac(key, "bare-token")},={Mac(key, "nameless")},Env={Mac(key, "Prod")},cookie2:$Version={Mac(key, "1")},env={Mac(key, "staging")},env={Mac(key, "b")},"
            + $"sid={Mac(key, "s3cret")},we%2Cird%25%3An%C3%A9={Mac(key, "v")}", line);
        Assert.DoesNotContain("s3cret", line, StringComparison.Ordinal);
        Assert.Equal("(unnamed),(unnamed),Env,cookie2:$Version,env,env,sid,we%2Cird%25%3An%C3%A9", ApprovalCookies.Names(line));

        // Pairs of different names in any order, one field or several: the same line. The same name's values in
        // another order, another value, a Cookie2 pair for a Cookie one: another line.
        string one = ApprovalCookies.Line([(false, "a=1; b=2"u8.ToArray())], key);
        Assert.Equal(one, ApprovalCookies.Line([(false, "b=2;a=1"u8.ToArray())], key));
        Assert.Equal(one, ApprovalCookies.Line([(false, "b=2"u8.ToArray()), (false, "a=1"u8.ToArray())], key));
        Assert.NotEqual(ApprovalCookies.Line([(false, "a=1; a=2"u8.ToArray())], key), ApprovalCookies.Line([(false, "a=2; a=1"u8.ToArray())], key));
        Assert.NotEqual(one, ApprovalCookies.Line([(false, "a=1; b=3"u8.ToArray())], key));
        Assert.NotEqual(one, ApprovalCookies.Line([(false, "a=1"u8.ToArray()), (true, "b=2"u8.ToArray())], key));
        Assert.NotEqual(ApprovalCookies.Line([(false, "x"u8.ToArray())], key), ApprovalCookies.Line([(false, "=x"u8.ToArray())], key));
        Assert.NotEqual(ApprovalCookies.Line([(false, "a=1"u8.ToArray())], key), ApprovalCookies.Line([(false, "A=1"u8.ToArray())], key));
        Assert.Equal("", ApprovalCookies.Line([(false, " ; "u8.ToArray())], key));
        Assert.Equal("", ApprovalCookies.Names(""));
    }

    [Fact]
    public void The_cookies_line_is_bound_after_the_headers_line()
    {
        byte[] p = Encoding.UTF8.GetBytes(Params("""{"env":"prod"}"""));
        string cookies = ApprovalCookies.Line([(false, "env=staging"u8.ToArray())], ApprovalCookies.Key(ExampleFingerprintKey));
        string digest = ApprovalDigest.Compute("tools/call", p, [], "", "", cookies);
        Assert.Equal(Sha256("fastmcp-approval-v5\nmethod:tools/call\nparams:{\"arguments\":{\"env\":\"prod\"},\"name\":\"deploy\"}\nquery:\nheaders:\n"
            + "cookies:env=abd15f96c90556417dfbaa7fbb70df123771022f61af6ab7e245127e81084dea\ncards:\n"), digest);
        Assert.NotEqual(digest, ApprovalDigest.Compute("tools/call", p, [], "", "",
            ApprovalCookies.Line([(false, "env=production"u8.ToArray())], ApprovalCookies.Key(ExampleFingerprintKey))));
        Assert.NotEqual(digest, ApprovalDigest.Compute("tools/call", p, []));
    }

    [Fact]
    public void The_documented_example_digest_is_what_the_gateway_computes()
    {
        // docs/approvals.md, "The digest": the worked example an independent verifier can check itself against.
        string headers = ApprovalDigest.HeadersLine([("X-MCP-Toolsets", "repos,issues"u8.ToArray()), ("X-MCP-Readonly", "true"u8.ToArray())]);
        string cookies = ApprovalCookies.Line([(false, "env=staging"u8.ToArray())], ApprovalCookies.Key(ExampleFingerprintKey));
        Assert.Equal("env=abd15f96c90556417dfbaa7fbb70df123771022f61af6ab7e245127e81084dea", cookies);
        string digest = ApprovalDigest.Compute("tools/call", """{"name":"create_issue","arguments":{"repo":"acme/api","title":"Card 411111******1111 declined"}}"""u8,
            ["3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3c"], "?tenant=eu", headers, cookies);
        Assert.Equal(Sha256("fastmcp-approval-v5\nmethod:tools/call\n"
            + "params:{\"arguments\":{\"repo\":\"acme/api\",\"title\":\"Card 411111******1111 declined\"},\"name\":\"create_issue\"}\n"
            + "query:?tenant=eu\nheaders:x-mcp-readonly:true,x-mcp-toolsets:repos%2Cissues\n"
            + "cookies:env=abd15f96c90556417dfbaa7fbb70df123771022f61af6ab7e245127e81084dea\n"
            + "cards:3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3c\n"), digest);
        Assert.Equal(DocumentedExampleDigest, digest);
    }

    // The value docs/approvals.md prints for the example above (computed independently with Python's hmac and hashlib
    // from the documented text; kept in step with the docs by this test).
    private const string DocumentedExampleDigest = "sha256:eaaa7a253208a58aef315386e00f3ec7246f6fa515a04d0aa6298d24f8cfe3f9";
}
