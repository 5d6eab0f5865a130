using System.Text;
using FastMcp.Gateway.Approvals;

namespace FastMcp.Gateway.Tests;

/// <summary>The digest an approval is bound to: the same call, however it is written, and nothing else.</summary>
public sealed class ApprovalDigestTests
{
    private static string Digest(string args, string method = "tools/call", string? name = "deploy", params string[] cards) =>
        ApprovalDigest.Compute(method, name, Encoding.UTF8.GetBytes(args), cards);

    [Fact]
    public void Member_order_and_whitespace_do_not_change_the_digest()
    {
        string a = Digest("""{"env":"prod","replicas":3,"tags":["a","b"],"opts":{"x":1,"y":null}}""");
        string b = Digest("""{ "opts": { "y": null, "x": 1 }, "tags": [ "a", "b" ], "replicas": 3, "env": "prod" }""");
        Assert.Equal(a, b);
        Assert.StartsWith("sha256:", a);
        Assert.Equal(7 + 64, a.Length);
    }

    [Fact]
    public void Escaped_and_plain_spellings_of_a_string_are_the_same_argument()
    {
        Assert.Equal(Digest("""{"env":"prod"}"""), Digest("""{"env":"\u0070rod"}"""));
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
        Assert.NotEqual(Digest("""{"env":"prod","replicas":3}"""), Digest(changed));
    }

    [Fact]
    public void Method_name_and_card_fingerprints_are_bound_too()
    {
        string baseline = Digest("{}");
        Assert.NotEqual(baseline, Digest("{}", name: "undeploy"));
        Assert.NotEqual(baseline, Digest("{}", method: "prompts/get"));
        Assert.NotEqual(baseline, Digest("{}", "tools/call", "deploy", "aa11"));
        Assert.Equal(Digest("{}", "tools/call", "deploy", "aa11", "bb22"), Digest("{}", "tools/call", "deploy", "bb22", "aa11"));
        // No arguments and empty arguments are the same call.
        Assert.Equal(baseline, ApprovalDigest.Compute("tools/call", "deploy", default, []));
    }

    [Fact]
    public void Canonical_arguments_are_compact_and_sorted()
    {
        Assert.Equal("""{"a":[1,{"c":2,"d":3}],"b":"x"}""", ApprovalDigest.CanonicalArguments(Encoding.UTF8.GetBytes("""{ "b" : "x", "a" : [ 1, { "d": 3, "c": 2 } ] }""")));
    }
}
