using System.Buffers;
using System.Text;
using CsCheck;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Stages;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Hostile JSON-RPC generated at random through the inspector and the policy stage: whatever duplicates, escapes
/// or URI spellings a message uses, the gateway either refuses it or reaches the decision an upstream would reach
/// on its own reading (last member wins, escapes decoded, the URI resolved). The decision never depends on which
/// copy or which spelling a peer reads.
/// </summary>
public sealed class DecisionPropertyTests
{
    private static readonly PolicyAuthorization Policy = new(PolicyEngine.Compile(new PolicyOptions
    {
        Rules =
        [
            new RuleOptions { Name = "no-deletes", Action = "deny", Methods = ["tools/call"], Names = ["delete_*"] },
            new RuleOptions { Name = "no-etc-args", Action = "deny", Methods = ["tools/call"], Arguments = [new ArgumentConditionOptions { Pointer = "/path", Regex = "^/etc" }] },
            new RuleOptions { Name = "no-etc-files", Action = "deny", Methods = ["resources/*"], Names = ["file:///etc/*"] },
            new RuleOptions { Name = "rest", Action = "allow" },
        ],
    }));

    private static Gen<string> OneOf(params string[] values) => Gen.Int[0, values.Length - 1].Select(i => values[i]);

    /// <summary>A JSON string body (no quotes) spelling <paramref name="text"/> with some characters as \u escapes.</summary>
    private static Gen<string> Spelled(string text) =>
        Gen.Bool.Array[text.Length].Select(escape =>
        {
            var sb = new StringBuilder();
            for (int i = 0; i < text.Length; i++)
            {
                if (escape[i]) sb.Append("\\u").Append(((int)text[i]).ToString("x4"));
                else if (text[i] == '/') sb.Append(i % 2 == 0 ? "\\/" : "/");
                else sb.Append(text[i]);
            }
            return sb.ToString();
        });

    private sealed record Member(string Key, string SpelledKey, string Value, string SpelledValue);

    private static readonly Gen<Member> GenMember =
        from key in OneOf("path", "mode", "p")
        from value in OneOf("/tmp/a", "/etc/passwd", "/tmp/etc", "/etc")
        from spelledKey in Spelled(key)
        from spelledValue in Spelled(value)
        select new Member(key, spelledKey, value, spelledValue);

    private sealed record ToolCall(string Name, string Json, Dictionary<string, string> UpstreamView, bool HasDuplicate);

    private static readonly Gen<ToolCall> GenToolCall =
        from name in OneOf("read_file", "delete_all", "delete_x", "deleteall")
        from spelledName in Spelled(name)
        from members in GenMember.Array[0, 5]
        select Build(name, spelledName, members);

    private static ToolCall Build(string name, string spelledName, Member[] members)
    {
        var args = new StringBuilder("{");
        var lastWins = new Dictionary<string, string>(StringComparer.Ordinal);
        bool duplicate = false;
        for (int i = 0; i < members.Length; i++)
        {
            if (i > 0) args.Append(',');
            args.Append('"').Append(members[i].SpelledKey).Append("\":\"").Append(members[i].SpelledValue).Append('"');
            duplicate |= !lastWins.TryAdd(members[i].Key, members[i].Value);
            lastWins[members[i].Key] = members[i].Value; // Python's json and JavaScript's JSON.parse: the last copy wins
        }
        args.Append('}');
        string json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"" + spelledName + "\",\"arguments\":" + args + "}}";
        lastWins["(name)"] = name;
        return new ToolCall(name, json, lastWins, duplicate);
    }

    private static PolicyDecision? Decide(string json, out McpInspectError error)
    {
        var body = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json));
        error = McpInspector.Inspect(body, out McpCall call);
        if (error != McpInspectError.None) return null;
        using var scratch = new PooledBufferWriter(256);
        return Policy.Decide(Principal.Anonymous, call, body, scratch, null, default, null);
    }

    [Fact]
    public void A_tool_call_is_refused_or_decided_as_the_upstream_would_read_it()
    {
        GenToolCall.Sample(call =>
        {
            PolicyDecision? decision = Decide(call.Json, out McpInspectError error);
            if (call.HasDuplicate)
            {
                // A peer could read either copy: the gateway must not decide on one of them.
                Assert.Equal(McpInspectError.DuplicateMember, error);
                return;
            }
            Assert.Equal(McpInspectError.None, error);
            bool upstreamSeesDeny = call.UpstreamView["(name)"].StartsWith("delete_", StringComparison.Ordinal)
                || (call.UpstreamView.TryGetValue("path", out string? path) && path.StartsWith("/etc", StringComparison.Ordinal));
            Assert.Equal(upstreamSeesDeny ? PolicyAction.Deny : PolicyAction.Allow, decision!.Value.Action);
        }, iter: 3_000);
    }

    private sealed record ResourceRead(string Json, bool UnderEtc);

    /// <summary>One of a few files, spelled the many ways RFC 3986 allows (case, localhost, dot segments, %-encoding).</summary>
    private static readonly Gen<ResourceRead> GenResourceRead =
        from path in OneOf("/etc/passwd", "/etc/ssl/key.pem", "/tmp/etc/x", "/tmp/notes.txt")
        from scheme in OneOf("file", "FILE", "File")
        from authority in OneOf("", "localhost", "LocalHost")
        from detours in Gen.Int[0, 3].Array[path.Count(c => c == '/')]
        from encode in Gen.Bool.Array[path.Length]
        select new ResourceRead(
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/read\",\"params\":{\"uri\":\"" + scheme + "://" + authority + Spell(path, detours, encode) + "\"}}",
            path.StartsWith("/etc/", StringComparison.Ordinal));

    private static string Spell(string path, int[] detours, bool[] encode)
    {
        var sb = new StringBuilder();
        int slash = 0;
        for (int i = 0; i < path.Length; i++)
        {
            char c = path[i];
            if (c == '/')
            {
                sb.Append('/');
                switch (detours[slash++])
                {
                    case 1: sb.Append("./"); break;
                    case 2: sb.Append("tmp/../"); break;
                    case 3: sb.Append("a/b/../../"); break;
                }
                continue;
            }
            // Unreserved characters may be percent-encoded (either hex case); a server decodes them.
            if (encode[i] && (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~'))
                sb.Append('%').Append(((int)c).ToString(i % 2 == 0 ? "X2" : "x2"));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    [Fact]
    public void A_resource_is_decided_the_same_whatever_its_spelling()
    {
        GenResourceRead.Sample(read =>
        {
            PolicyDecision? decision = Decide(read.Json, out McpInspectError error);
            Assert.Equal(McpInspectError.None, error);
            Assert.Equal(read.UnderEtc ? PolicyAction.Deny : PolicyAction.Allow, decision!.Value.Action);
            if (read.UnderEtc) Assert.Equal("no-etc-files", decision.Value.Rule!.Name);
        }, iter: 3_000);
    }
}
