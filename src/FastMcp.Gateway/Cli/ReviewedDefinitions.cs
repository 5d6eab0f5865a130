using System.Text.Json;

namespace FastMcp.Gateway.Cli;

/// <summary>
/// The definitions file `tools pin --definitions` wrote (upstream → tool name → the definition reviewed), read by
/// `tools diff` to say what changed in a tool. A file that is not that shape is refused as a whole, naming the member.
/// </summary>
internal sealed class ReviewedDefinitions : IDisposable
{
    private readonly JsonDocument _document;

    private ReviewedDefinitions(JsonDocument document) => _document = document;

    /// <summary>The file read, or null with <paramref name="problem"/> naming the file and what is wrong.</summary>
    public static ReviewedDefinitions? Load(string path, out string? problem)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"cannot read '{path}': {FastMcp.Http.PlainError.Describe(e, path)}";
            return null;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            problem = $"{path}: not valid JSON: {FastMcp.Http.PlainError.Describe(e)}";
            return null;
        }
        problem = Shape(document.RootElement, path);
        if (problem is null) return new ReviewedDefinitions(document);
        document.Dispose();
        return null;
    }

    private static string? Shape(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object) return $"{path}: must be an object of upstream name → {{tool name → definition}} (as `tools pin --definitions` writes it)";
        foreach (JsonProperty upstream in root.EnumerateObject())
        {
            if (upstream.Value.ValueKind != JsonValueKind.Object) return $"{path}: {upstream.Name}: must be an object of tool name → definition";
            foreach (JsonProperty tool in upstream.Value.EnumerateObject())
                if (tool.Value.ValueKind != JsonValueKind.Object) return $"{path}: {upstream.Name}.{tool.Name}: must be a tool definition (an object)";
        }
        return null;
    }

    /// <summary>The reviewed definition of <paramref name="tool"/> on <paramref name="upstream"/>; null when the file has none.</summary>
    public JsonElement? Find(string upstream, string tool) =>
        _document.RootElement.TryGetProperty(upstream, out JsonElement tools) && tools.TryGetProperty(tool, out JsonElement definition) ? definition : null;

    public void Dispose() => _document.Dispose();
}
