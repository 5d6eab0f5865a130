using System.Buffers;
using System.Text;
using System.Text.Json;

namespace FastMcp.Mcp.Tests;

/// <summary>Random list results filtered here and by a JsonDocument reference must keep the same entries.</summary>
public class ListFilterDifferentialTests
{
    private sealed class DenyContaining(string fragment) : IListEntryFilter
    {
        public bool Keep(McpMethod listMethod, ReadOnlySpan<byte> nameUtf8) => !Encoding.UTF8.GetString(nameUtf8).Contains(fragment, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(McpMethod.ToolsList, "tools", "name")]
    [InlineData(McpMethod.ResourcesList, "resources", "uri")]
    [InlineData(McpMethod.ResourcesTemplatesList, "resourceTemplates", "uriTemplate")]
    public void Random_lists_filter_like_the_reference(McpMethod method, string arrayKey, string entryKey)
    {
        var rng = new Random(42 + (int)method);
        string[] names = ["read", "write", "sécret", "x\\\"y", "a\\u0062c", "secret_ops", "😀", "s\\u0065cret"];
        for (int round = 0; round < 300; round++)
        {
            var entries = new List<string>();
            int count = rng.Next(0, 8);
            for (int i = 0; i < count; i++)
            {
                string name = names[rng.Next(names.Length)];
                string other = rng.Next(2) == 0 ? "\"description\":\"d\"," : "\"meta\":{\"" + entryKey + "\":\"nested\"},";
                entries.Add(rng.Next(2) == 0
                    ? "{" + other + "\"" + entryKey + "\":\"" + name + "\"}"
                    : "{\"" + entryKey + "\":\"" + name + "\"," + other + "\"n\":[1,2]}");
            }
            string json = "{\"jsonrpc\":\"2.0\",\"id\":" + round + ",\"result\":{\"" + arrayKey + "\":[" + string.Join(rng.Next(2) == 0 ? "," : " , ", entries)
                + "]" + (rng.Next(2) == 0 ? ",\"nextCursor\":\"c" + round + "\"" : "") + "}}";
            byte[] bytes = Encoding.UTF8.GetBytes(json);

            var output = new ArrayBufferWriter<byte>();
            IListEntryFilter filter = new DenyContaining("secret");
            Assert.True(ListResultFilter.TryFilter(Segments.Split(bytes, rng.Next(bytes.Length + 1)), method, ref filter, output, out int removed));

            using JsonDocument input = JsonDocument.Parse(bytes);
            string[] expected = input.RootElement.GetProperty("result").GetProperty(arrayKey).EnumerateArray()
                .Select(e => e.GetProperty(entryKey).GetString()!).Where(n => !n.Contains("secret", StringComparison.Ordinal)).ToArray();
            using JsonDocument result = JsonDocument.Parse(output.WrittenMemory);
            string[] actual = result.RootElement.GetProperty("result").GetProperty(arrayKey).EnumerateArray()
                .Select(e => e.GetProperty(entryKey).GetString()!).ToArray();
            Assert.Equal(expected, actual);
            Assert.Equal(count - expected.Length, removed);
            if (input.RootElement.GetProperty("result").TryGetProperty("nextCursor", out JsonElement cursor))
            {
                Assert.Equal(cursor.GetString(), result.RootElement.GetProperty("result").GetProperty("nextCursor").GetString());
            }
        }
    }
}
