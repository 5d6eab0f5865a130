using System.Buffers;
using System.Text;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Stages;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The policy stage reads a tool name the inspector found without escapes as its token's bytes (no reader, no copy):
/// decided against the old reading (McpInspector.CopyUnescaped into the stage's 1 KiB buffer, then the same decision) as
/// the oracle, on random names with and without escapes, at lengths around the 1,024-byte bound, in one segment and split
/// over two, with the whole-arguments card condition read both ways too.
/// </summary>
public sealed class PolicyNameSliceTests
{
    private static readonly PolicyEngine Engine = PolicyEngine.Compile(new PolicyOptions
    {
        Rules =
        [
            new RuleOptions { Name = "no-drops", Action = "deny", Methods = ["tools/call"], Names = ["drop_*", "*\u00e9"] },
            new RuleOptions { Name = "no-cards", Action = "deny", Methods = ["tools/call"], Arguments = [new ArgumentConditionOptions { Pointer = "", ContainsCardNumber = true }] },
            new RuleOptions { Name = "exact", Action = "allow", Methods = ["tools/call"], Names = ["echo", "x\"y", new string('a', 1024)] },
            new RuleOptions { Name = "long", Action = "require_approval", Methods = ["tools/call"], Names = ["a*z"] },
        ],
    });

    [Fact]
    public void Names_read_from_their_tokens_decide_as_the_unescaped_copies_did()
    {
        var policy = new PolicyAuthorization(Engine);
        var scratch = new PooledBufferWriter();
        var random = new Random(1404);
        int byRule = 0, refusedOverlong = 0, slices = 0;
        for (int i = 0; i < 6_000; i++)
        {
            string name = Name(random, out bool escaped);
            string arguments = random.Next(3) switch { 0 => "{}", 1 => "{\"text\":\"hello\"}", _ => "{\"card\":\"4111 1111 1111 1111\"}" };
            byte[] message = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"" + name
                + "\",\"arguments\":" + arguments + "}}");
            ReadOnlySequence<byte> body = random.Next(4) == 0 ? Split(message, random.Next(1, message.Length)) : new ReadOnlySequence<byte>(message);
            Assert.Equal(McpInspectError.None, McpInspector.Inspect(body, out McpCall call));
            Assert.Equal(escaped, call.NameHasEscapes);
            if (!escaped && body.IsSingleSegment) slices++;

            PolicyDecision decided = policy.Decide(Principal.Anonymous, call, body, scratch, "default", default, null);
            PolicyDecision oracle = Oracle(call, body);
            Assert.True(decided.Action == oracle.Action && decided.Rule == oracle.Rule,
                $"name \"{name}\" ({Encoding.UTF8.GetByteCount(name)} bytes as sent), {arguments}, {body.IsSingleSegment}: {decided.Rule?.Name} against {oracle.Rule?.Name}");
            if (decided.Rule == PolicyEngine.OverlongNameRule) refusedOverlong++;
            else if (decided.Rule is not null) byRule++;
        }
        Assert.True(slices > 2_000 && refusedOverlong > 200 && byRule > 2_000, $"{slices} slices, {refusedOverlong} overlong, {byRule} by a rule");
    }

    /// <summary>The stage as it was: every name unescaped into a 1 KiB buffer; the arguments stepped over by the reader.</summary>
    private static PolicyDecision Oracle(in McpCall call, in ReadOnlySequence<byte> body)
    {
        Span<byte> buffer = new byte[McpCallDecision.MaxNameBytes];
        int n = McpInspector.CopyUnescaped(body, call.NameRange, buffer);
        if (n < 0) return PolicyEngine.RefuseOverlongName();
        byte[] arguments = body.Slice(call.ArgumentsRange.Start.Value, call.ArgumentsRange.End.Value - call.ArgumentsRange.Start.Value).ToArray();
        return McpCallDecision.Decide(Engine, Principal.Anonymous, "tools/call"u8, buffer[..n], arguments, "default");
    }

    /// <summary>A name as written between the quotes: plain, escaped, around the 1 KiB bound, or short.</summary>
    private static string Name(Random random, out bool escaped)
    {
        int length = random.Next(4) switch { 0 => random.Next(1020, 1030), 1 => random.Next(1, 12), 2 => random.Next(500, 1100), _ => random.Next(1, 40) };
        var sb = new StringBuilder();
        escaped = false;
        string[] pieces = ["a", "z", "drop_", "echo", "x", "_", "\u00e9", "-"];
        while (sb.Length < length)
        {
            int pick = random.Next(40);
            if (pick == 0) { sb.Append("\\u0061"); escaped = true; }
            else if (pick == 1) { sb.Append("\\\""); escaped = true; }
            else sb.Append(pieces[random.Next(pieces.Length)]);
        }
        string name = sb.ToString();
        return random.Next(6) switch
        {
            0 => "echo",
            1 => new string('a', random.Next(1023, 1026)),
            2 => "a" + new string('b', random.Next(1020, 1026)) + "z",
            _ => name,
        } is var picked && picked != name ? Plain(picked, out escaped) : name;
    }

    private static string Plain(string name, out bool escaped)
    {
        escaped = false;
        return name;
    }

    private static ReadOnlySequence<byte> Split(byte[] bytes, int at)
    {
        var first = new Segment(bytes.AsMemory(0, at));
        Segment last = first.Append(bytes.AsMemory(at));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
