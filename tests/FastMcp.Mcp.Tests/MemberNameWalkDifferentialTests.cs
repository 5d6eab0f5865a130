using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

/// <summary>
/// The readers check the member-name rule inside their own walk; the two-walk readings (the walk without it, then the
/// standalone scan of the whole message) are the oracle. Random messages whose names come from a small alphabet of
/// look-alikes (so that repeats, escaped repeats and case variants are common), nested at random, some too deep, some
/// broken after the repeat, must get the same verdict, call and view both ways, in one segment and split. Fixed seeds.
/// </summary>
public class MemberNameWalkDifferentialTests
{
    // Look-alike names: exact twins once unescaped, case and fold variants (ſ folds to s, K to k), a control character.
    private static readonly string[] Names =
        ["a", "A", "\\u0061", "b", "s", "S", "ſ", "\\u017f", "k", "\\u212a", "name", "Name", "x\\u0001", "arguments", "_meta", "id", "content"];

    private static string Value(Random rng, int depth)
    {
        int roll = rng.Next(depth > 6 ? 4 : 8);
        return roll switch
        {
            0 => "1",
            1 => "\"v\"",
            2 => "null",
            3 => "true",
            4 or 5 => Object(rng, depth + 1),
            _ => "[" + string.Join(",", Enumerable.Range(0, rng.Next(3)).Select(_ => Value(rng, depth + 1))) + "]",
        };
    }

    private static string Object(Random rng, int depth)
    {
        int count = rng.Next(4);
        var members = new List<string>();
        for (int i = 0; i < count; i++)
        {
            members.Add($"\"{Names[rng.Next(Names.Length)]}\":{Value(rng, depth)}");
        }
        return "{" + string.Join(",", members) + "}";
    }

    private static string Deep(Random rng, int levels) =>
        string.Concat(Enumerable.Repeat("{\"d\":", levels - 1)) + Object(rng, 99) + new string('}', levels - 1);

    private static string Request(Random rng)
    {
        string arguments = rng.Next(10) == 0 ? Deep(rng, 61 + rng.Next(3)) : Object(rng, 0);
        var members = new List<string> { "\"jsonrpc\":\"2.0\"", "\"id\":1", "\"method\":\"tools/call\"", $"\"params\":{{\"name\":\"t\",\"arguments\":{arguments},\"_meta\":{Object(rng, 1)}}}" };
        if (rng.Next(4) == 0) members.Add($"\"{Names[rng.Next(Names.Length)]}\":{Value(rng, 1)}");
        if (rng.Next(8) == 0) members.RemoveAt(rng.Next(members.Count));
        Shuffle(rng, members);
        return Broken(rng, "{" + string.Join(",", members) + "}");
    }

    private static string Answer(Random rng)
    {
        string body = rng.Next(3) switch
        {
            0 => $"\"result\":{(rng.Next(10) == 0 ? Deep(rng, 62 + rng.Next(3)) : Object(rng, 0))}",
            1 => $"\"error\":{{\"code\":1,\"message\":\"m\",\"data\":{Object(rng, 1)}}}",
            _ => $"\"method\":\"notifications/progress\",\"params\":{{\"progressToken\":1,\"extra\":{Object(rng, 1)}}}",
        };
        var members = new List<string> { "\"jsonrpc\":\"2.0\"", "\"id\":2", body };
        if (rng.Next(4) == 0) members.Add($"\"{Names[rng.Next(Names.Length)]}\":{Value(rng, 1)}");
        Shuffle(rng, members);
        string message = "{" + string.Join(",", members) + "}";
        return Broken(rng, rng.Next(10) == 0 ? "[" + message + "," + message + "]" : message);
    }

    /// <summary>Now and then something else wrong after everything else: trailing text, a lone surrogate.</summary>
    private static string Broken(Random rng, string message) => rng.Next(20) switch
    {
        0 => message + " x",
        1 => message[..^1] + ",\"lone\":\"\\ud800\"}",
        _ => message,
    };

    private static void Shuffle(Random rng, List<string> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    [Fact]
    public void Requests_get_the_verdict_and_call_of_the_two_walk_reading()
    {
        var rng = new Random(20261207);
        var seen = new HashSet<McpInspectError>();
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(Request(rng));
            McpInspectError expected = McpInspector.InspectInTwoWalks(new ReadOnlySequence<byte>(bytes), out McpCall expectedCall);
            seen.Add(expected);
            Assert.True(expected == McpInspector.Inspect(new ReadOnlySequence<byte>(bytes), out McpCall call), Encoding.UTF8.GetString(bytes));
            Assert.Equal(expectedCall, call);
            Assert.Equal(expected, McpInspector.Inspect(bytes.AsSpan(), out _));
            int cut = rng.Next(1, bytes.Length);
            Assert.Equal(expected, McpInspector.Inspect(Segments.Split(bytes, cut), out _));
        }
        // The generator reaches every verdict the name rule can give, and the ones that win over it.
        Assert.Superset(new HashSet<McpInspectError>
        {
            McpInspectError.None, McpInspectError.DuplicateMember, McpInspectError.CaseVariantMember,
            McpInspectError.TooDeep, McpInspectError.InvalidJson,
        }, seen);
    }

    [Fact]
    public void Answers_and_events_get_the_view_of_the_two_walk_reading()
    {
        var rng = new Random(7122026);
        int viewed = 0, refused = 0;
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(Answer(rng));
            bool expected = McpResponseInspector.TryInspectInTwoWalks(new ReadOnlySequence<byte>(bytes), out McpResponseView expectedView);
            Assert.True(expected == McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(bytes), out McpResponseView view), Encoding.UTF8.GetString(bytes));
            Assert.Equal(expectedView, view);
            Assert.Equal(expected, McpResponseInspector.TryInspectValidUtf8(new ReadOnlySequence<byte>(bytes), out _));
            int cut = rng.Next(1, bytes.Length);
            Assert.Equal(expected, McpResponseInspector.TryInspect(Segments.Split(bytes, cut), out _));
            if (expected) viewed++;
            else refused++;
        }
        Assert.True(viewed > 300 && refused > 300, $"viewed {viewed}, refused {refused}");
    }

    private readonly struct KeepAll : IListEntryFilter
    {
        public bool Keep(McpMethod listMethod, scoped ReadOnlySpan<byte> nameUtf8) => true;
    }

    [Fact]
    public void A_list_is_filtered_only_when_the_standalone_scan_finds_no_clash()
    {
        var rng = new Random(1412);
        int filtered = 0, clashing = 0;
        for (int i = 0; i < 1500; i++)
        {
            string entries = string.Join(",", Enumerable.Range(0, rng.Next(1, 4)).Select(n =>
            {
                string entry = Object(rng, 1);
                return entry == "{}" ? $"{{\"name\":\"t{n}\"}}" : entry.Insert(1, $"\"name\":\"t{n}\",");
            }));
            byte[] bytes = Encoding.UTF8.GetBytes($"{{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{{\"tools\":[{entries}],\"_meta\":{Object(rng, 1)}}}}}");
            var filter = new KeepAll();
            bool ok = ListResultFilter.TryFilter(new ReadOnlySequence<byte>(bytes), McpMethod.ToolsList, ref filter, new ArrayBufferWriter<byte>(), out _);
            bool clash = McpInspector.FindClashingMemberNames(bytes) != McpInspectError.None;
            if (clash) Assert.False(ok, Encoding.UTF8.GetString(bytes));
            if (ok) filtered++;
            if (clash) clashing++;
        }
        Assert.True(filtered > 100 && clashing > 100, $"filtered {filtered}, clashing {clashing}");
    }
}
