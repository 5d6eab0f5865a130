using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FastMcp.Mcp.Tests;

/// <summary>
/// Random valid list answers full of hostile text (control characters, bidi overrides, C1 controls, line separators,
/// surrogate pairs raw and escaped, escape-heavy strings, strings longer than the filter's stack buffers, nesting up to the
/// limit), split at random places, filtered here and by a reference that parses with JsonDocument and drops the entries
/// the filter denies: the output must be valid JSON equal in meaning to the reference's. The one rule that refuses valid
/// JSON of this kind, a member name holding a control character (U+0000-U+001F, U+007F), must refuse exactly when the
/// reference finds such a name, and say so.
/// </summary>
public class HostileListDifferentialTests
{
    private sealed class DenyContaining(string fragment) : IListEntryFilter
    {
        public bool Keep(McpMethod listMethod, ReadOnlySpan<byte> nameUtf8) => !Encoding.UTF8.GetString(nameUtf8).Contains(fragment, StringComparison.Ordinal);
    }

    // Pieces hostile text is made of; the filter denies names containing "secret".
    private static readonly string[] Pieces =
    [
        "a", "secret", "tool_1", "\n", "\r", "\t", "\u0000", "\u0007", "\u001b[2K", "\u001b]8;;http://e/\u0007", "\u007f", "\u0085", "\u009b",
        "\u2028", "\u2029", "\u202e", "\u2066", "\u200f", "\ufeff", "\u00e9", "\u05e9\u05dc\u05d5\u05dd", "\ud83d\ude00", "\"", "\\", "/", "\\n",
        "\\u0041", "</script>", "K", "\u212a", "\u017f",
    ];

    private static string HostileString(Random rng, bool allowControls)
    {
        var sb = new StringBuilder();
        int parts = rng.Next(0, 6);
        for (int i = 0; i < parts; i++)
        {
            string piece = Pieces[rng.Next(Pieces.Length)];
            if (!allowControls && piece.Any(c => c < ' ' || c == '\u007f')) continue;
            sb.Append(piece);
        }
        if (rng.Next(20) == 0) sb.Append('y', rng.Next(250, 2000)); // past the 256- and 512-byte stack buffers
        return sb.ToString();
    }

    /// <summary>A JSON string literal for <paramref name="text"/>, written one of several ways a server may write it.</summary>
    private static string Literal(Random rng, string text)
    {
        switch (rng.Next(3))
        {
            case 0:
                return JsonSerializer.Serialize(text); // the default: non-ASCII escaped, surrogate pairs as two escapes
            case 1:
                return JsonSerializer.Serialize(text, new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }); // raw UTF-8 where allowed
            default:
                // Every character escaped, \uXXXX with mixed case hex.
                var sb = new StringBuilder("\"");
                foreach (char c in text) sb.Append(rng.Next(2) == 0 ? $"\\u{(int)c:x4}" : $"\\u{(int)c:X4}");
                return sb.Append('"').ToString();
        }
    }

    private static string Value(Random rng, int depth, bool controlNames, ref bool hasControlName)
    {
        if (depth <= 0 || rng.Next(3) == 0)
        {
            return rng.Next(4) switch
            {
                0 => Literal(rng, HostileString(rng, allowControls: true)),
                1 => rng.Next(-1000, 1000).ToString(System.Globalization.CultureInfo.InvariantCulture) + (rng.Next(2) == 0 ? "" : ".5e-3"),
                2 => rng.Next(2) == 0 ? "true" : "null",
                _ => "[]",
            };
        }
        if (rng.Next(2) == 0)
        {
            int n = rng.Next(0, 4);
            var items = new List<string>();
            for (int i = 0; i < n; i++) items.Add(Value(rng, depth - 1, controlNames, ref hasControlName));
            return "[" + string.Join(rng.Next(2) == 0 ? "," : " ,\n\t", items) + "]";
        }
        return Object(rng, depth - 1, controlNames, ref hasControlName, []);
    }

    /// <summary>An object with member names unique among siblings (an index prefix keeps their folds apart too).</summary>
    private static string Object(Random rng, int depth, bool controlNames, ref bool hasControlName, List<string> members)
    {
        int n = rng.Next(0, 4);
        for (int i = 0; i < n; i++)
        {
            string name = "m" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "_" + HostileString(rng, controlNames);
            hasControlName |= name.Any(c => c < ' ' || c == '\u007f');
            members.Add(Literal(rng, name) + ":" + Value(rng, depth, controlNames, ref hasControlName));
        }
        Shuffle(rng, members);
        return "{" + string.Join(",", members) + "}";
    }

    private static void Shuffle(Random rng, List<string> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    [Theory]
    [InlineData(McpMethod.ToolsList, "tools", "name")]
    [InlineData(McpMethod.PromptsList, "prompts", "name")]
    [InlineData(McpMethod.ResourcesList, "resources", "uri")]
    [InlineData(McpMethod.ResourcesTemplatesList, "resourceTemplates", "uriTemplate")]
    public void Random_hostile_lists_filter_like_the_reference(McpMethod method, string arrayKey, string entryKey)
    {
        var rng = new Random(20261207 + (int)method);
        int refused = 0, filtered = 0;
        for (int round = 0; round < 400; round++)
        {
            bool controlNames = rng.Next(4) == 0;
            bool hasControlName = false;
            var entries = new List<string>();
            int count = rng.Next(0, 6);
            for (int i = 0; i < count; i++)
            {
                var members = new List<string>();
                if (rng.Next(12) != 0) members.Add("\"" + entryKey + "\":" + Literal(rng, HostileString(rng, allowControls: true)));
                members.Add("\"description\":" + Literal(rng, HostileString(rng, allowControls: true)));
                members.Add("\"inputSchema\":" + Object(rng, rng.Next(0, 5), controlNames, ref hasControlName, ["\"type\":\"object\""]));
                entries.Add(Object(rng, 0, controlNames, ref hasControlName, members));
            }
            string json = "{\"jsonrpc\":\"2.0\",\"id\":" + Literal(rng, "r" + round + HostileString(rng, allowControls: true))
                + ",\"result\":{\"_meta\":" + Value(rng, 2, controlNames: false, ref hasControlName) + ",\"" + arrayKey + "\":[" + string.Join(",", entries) + "]"
                + (rng.Next(2) == 0 ? ",\"nextCursor\":" + Literal(rng, HostileString(rng, allowControls: true)) : "") + "}}";
            byte[] bytes = Encoding.UTF8.GetBytes(json);

            var output = new ArrayBufferWriter<byte>();
            IListEntryFilter filter = new DenyContaining("secret");
            int cut1 = rng.Next(bytes.Length + 1), cut2 = rng.Next(bytes.Length + 1);
            bool ok = ListResultFilter.TryFilter(Segments.Split(bytes, Math.Min(cut1, cut2), Math.Max(cut1, cut2)), method, ref filter, output,
                out int removed, out ListFilterRefusal refusal);

            // The reference: JsonDocument reads it (it is valid JSON), entries the filter denies are dropped.
            JsonNode expected = JsonNode.Parse(bytes)!;
            if (hasControlName)
            {
                Assert.False(ok, json);
                Assert.Equal(ListFilterRefusal.ControlCharacterInMemberName, refusal);
                Assert.Equal(0, output.WrittenCount);
                refused++;
                continue;
            }
            Assert.True(ok, $"refused ({refusal}): {json}");
            Assert.Equal(ListFilterRefusal.None, refusal);
            JsonArray list = expected["result"]![arrayKey]!.AsArray();
            int dropped = 0;
            for (int i = list.Count - 1; i >= 0; i--)
            {
                JsonNode? entry = list[i];
                bool keep = entry is JsonObject o && o[entryKey] is JsonValue v && v.GetValueKind() == JsonValueKind.String
                    && !v.GetValue<string>().Contains("secret", StringComparison.Ordinal);
                if (keep) continue;
                list.RemoveAt(i);
                dropped++;
            }
            JsonNode actual = JsonNode.Parse(output.WrittenSpan)!; // valid JSON, or this throws
            Assert.True(JsonNode.DeepEquals(expected, actual), $"differs from the reference:\n{json}\n{Encoding.UTF8.GetString(output.WrittenSpan)}");
            Assert.Equal(dropped, removed);
            filtered++;
        }
        Assert.True(refused > 10 && filtered > 200, $"refused {refused}, filtered {filtered}: the generator no longer covers both");
    }
}
