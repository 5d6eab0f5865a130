using System.Text.Json;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.ToolPins;

/// <summary>
/// The pins file: one JSON object whose members are upstream names ("default" and the keys of "upstreams"), each an
/// object of tool name → digest ("sha256:" and 64 lowercase hex digits, <see cref="ToolDefinitionDigest"/>). Anything
/// else is refused with the member it is at (toolPins.file: "FILE: default.send_mail: …"), so that a typo never leaves
/// an upstream unpinned.
/// </summary>
internal static class ToolPinsFile
{
    private const string Field = "toolPins.file";

    /// <summary>
    /// Upstream → (tool → digest). <paramref name="upstreams"/>: the names the gateway forwards to; null takes any name
    /// (`tools diff` reads a file without the configuration, and says which upstream the gateway does not pin).
    /// </summary>
    public static Dictionary<string, Dictionary<string, string>> Load(string path, IReadOnlyList<string>? upstreams)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException(Field, $"cannot read the pins file '{path}': {FastMcp.Http.PlainError.Describe(e, path)}");
        }
        return Parse(bytes, path, upstreams);
    }

    public static Dictionary<string, Dictionary<string, string>> Parse(ReadOnlyMemory<byte> json, string path, IReadOnlyList<string>? upstreams)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new ConfigurationException(Field, $"{path}: not valid JSON: {FastMcp.Http.PlainError.Describe(e)}");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ConfigurationException(Field, $"{path}: must be an object of upstream name → {{tool name → digest}}");
            var pins = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
            foreach (JsonProperty upstream in document.RootElement.EnumerateObject())
            {
                if (upstreams is not null && !Contains(upstreams, upstream.Name))
                    throw new ConfigurationException(Field, $"{path}: {upstream.Name}: no upstream named '{upstream.Name}' (the gateway forwards to {string.Join(", ", upstreams)})");
                if (pins.ContainsKey(upstream.Name)) throw new ConfigurationException(Field, $"{path}: {upstream.Name}: named twice");
                if (upstream.Value.ValueKind != JsonValueKind.Object)
                    throw new ConfigurationException(Field, $"{path}: {upstream.Name}: must be an object of tool name → digest");
                var tools = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (JsonProperty tool in upstream.Value.EnumerateObject())
                {
                    string at = $"{path}: {upstream.Name}.{tool.Name}";
                    if (tools.ContainsKey(tool.Name)) throw new ConfigurationException(Field, $"{at}: named twice");
                    string? digest = tool.Value.ValueKind == JsonValueKind.String ? tool.Value.GetString() : null;
                    if (!ToolDefinitionDigest.IsWellFormed(digest))
                        throw new ConfigurationException(Field, $"{at}: not a digest (\"sha256:\" and 64 lowercase hex digits)");
                    tools.Add(tool.Name, digest!);
                }
                pins.Add(upstream.Name, tools);
            }
            return pins;
        }
    }

    private static bool Contains(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
            if (names[i] == name) return true;
        return false;
    }
}
