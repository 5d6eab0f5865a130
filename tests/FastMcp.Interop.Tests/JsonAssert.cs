using System.Text.Json;
using System.Text.Json.Nodes;

namespace FastMcp.Interop.Tests;

/// <summary>Structural JSON equality with both documents in the failure message.</summary>
internal static class JsonAssert
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Equal(JsonNode? expected, JsonNode? actual, string what)
    {
        if (!JsonNode.DeepEquals(expected, actual))
        {
            Assert.Fail(
                $"{what}: documents differ\n--- expected ---\n{expected?.ToJsonString(Indented)}\n--- actual ---\n{actual?.ToJsonString(Indented)}");
        }
    }
}
