using FastMcp.Gateway.Configuration;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// What gateway replicas share in the sealed-id tests: one identity provider key (dev mode) and one card fingerprint
/// key, from which every seal key derives, in a temporary folder. Each in-process gateway given <see cref="Share"/>
/// stands for one replica (or the same one after a restart).
/// </summary>
internal sealed class ReplicaKeys : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-replicas-" + Guid.NewGuid().ToString("N"));
    private readonly DevKey _identityKey;

    public ReplicaKeys()
    {
        Directory.CreateDirectory(_dir);
        _identityKey = DevKeys.LoadOrCreate(DevKeyDirectory);
        PanKeyFile = Path.Combine(_dir, "pan.key");
        File.WriteAllText(PanKeyFile, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    }

    public string DevKeyDirectory => Path.Combine(_dir, "dev");

    /// <summary>The card fingerprint key file (hex).</summary>
    public string PanKeyFile { get; }

    /// <summary>A dev-mode token of <paramref name="subject"/> (member of <paramref name="groups"/>) that every replica accepts.</summary>
    public string Token(string subject, params string[] groups) =>
        _identityKey.Mint(subject, groups, [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));

    /// <summary>Points a gateway's identity and card fingerprint key at the shared ones.</summary>
    public void Share(GatewayOptions o)
    {
        o.Identity!.DevKeyDirectory = DevKeyDirectory;
        o.Masking.FingerprintKeyFile = PanKeyFile;
    }

    public void Dispose()
    {
        _identityKey.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
