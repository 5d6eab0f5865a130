namespace FastMcp.Audit;

/// <summary>A key file could not be made, said in our own words with the file it is about.</summary>
public sealed class KeyFileException(string path, string problem) : IOException($"'{path}': {problem}")
{
    public string Path { get; } = path;
}
