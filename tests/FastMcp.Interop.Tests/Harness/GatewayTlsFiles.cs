using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>
/// What a gateway needs to listen with TLS in a test: a CA and a server certificate for 127.0.0.1 made by openssl
/// (<see cref="TestPki"/>), a configuration file whose <c>tls</c> section names them, and the CA trusted by
/// <see cref="RawHttpConnection"/>'s https:// connections. The files are removed on Dispose.
/// </summary>
internal sealed class GatewayTlsFiles : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly string _directory;

    /// <param name="moreSettings">Other top-level members of the file, each followed by a comma (or empty).</param>
    public GatewayTlsFiles(string moreSettings = "")
    {
        _pki.Ca("ca");
        _pki.Server("ca", "gateway");
        RawHttpConnection.Trust(_pki.PathOf("ca.pem"));
        _directory = Directory.CreateTempSubdirectory("fastmcp-tls-config-").FullName;
        ConfigPath = Path.Combine(_directory, "fastmcp.json");
        File.WriteAllText(ConfigPath, $$"""
            { {{moreSettings}}
              "tls": { "certificateFile": "{{_pki.PathOf("gateway.pem")}}", "keyFile": "{{_pki.PathOf("gateway.key")}}" }, "publicScheme": "https" }
            """);
    }

    /// <summary>The configuration file to pass with --config.</summary>
    public string ConfigPath { get; }

    public void Dispose()
    {
        _pki.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
