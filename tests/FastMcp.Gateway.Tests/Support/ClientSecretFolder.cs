namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// A temporary folder holding the gateway's client secret for a token endpoint (the oauth and tokenExchange credential
/// tests): the secret is written as a file, as operators mount it, and the folder is deleted with the test class.
/// </summary>
internal sealed class ClientSecretFolder : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-secret-" + Guid.NewGuid().ToString("N"));

    public ClientSecretFolder() => Directory.CreateDirectory(_dir);

    /// <summary>Writes <paramref name="secret"/> (with a trailing newline, as secret mounts often have) and returns the file's path.</summary>
    public string Write(string secret)
    {
        string path = Path.Combine(_dir, "client-secret");
        File.WriteAllText(path, secret + "\n");
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
