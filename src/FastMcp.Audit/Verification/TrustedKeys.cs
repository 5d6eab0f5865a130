using FastMcp.Audit.Crypto;

namespace FastMcp.Audit.Verification;

/// <summary>
/// The public keys an auditor trusts, by key id (hex SHA-256 of the DER SubjectPublicKeyInfo).
/// Notes name the key that signed them; the verifier looks that id up here and never trusts a key
/// only because a note names it.
/// </summary>
public sealed class TrustedKeys : IDisposable
{
    private readonly Dictionary<string, AuditPublicKey> _byId = new(StringComparer.Ordinal);
    private readonly List<AuditPublicKey> _owned = new();

    private TrustedKeys() { }

    public IReadOnlyCollection<string> KeyIds => _byId.Keys;

    /// <summary>Trusts <paramref name="keys"/>; the caller keeps ownership.</summary>
    public static TrustedKeys Of(params AuditPublicKey[] keys)
    {
        var trusted = new TrustedKeys();
        foreach (var k in keys) trusted._byId[k.KeyId] = k;
        return trusted;
    }

    /// <summary>Trusts <paramref name="key"/> too; the caller keeps ownership.</summary>
    public void Include(AuditPublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _byId.TryAdd(key.KeyId, key);
    }

    /// <summary>Loads each path: a PEM public key file, or a folder whose *.pem files are all loaded.</summary>
    public static TrustedKeys Load(IEnumerable<string> paths)
    {
        var trusted = new TrustedKeys();
        try
        {
            foreach (string path in paths)
            {
                if (Directory.Exists(path))
                {
                    string[] files = Directory.GetFiles(path, "*.pem");
                    Array.Sort(files, StringComparer.Ordinal);
                    if (files.Length == 0) throw new IOException($"the key folder {path} holds no *.pem file");
                    foreach (string file in files) trusted.Add(file);
                }
                else
                {
                    trusted.Add(path);
                }
            }
            if (trusted._byId.Count == 0) throw new IOException("no trusted public key given");
            return trusted;
        }
        catch
        {
            trusted.Dispose();
            throw;
        }
    }

    private void Add(string file)
    {
        AuditPublicKey key;
        try
        {
            key = AuditPublicKey.FromPemFile(file);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new IOException($"{file} is not an ECDSA P-256 public key: {FastMcp.Http.PlainError.Describe(e)}", e);
        }
        _owned.Add(key);
        _byId.TryAdd(key.KeyId, key);
    }

    public AuditPublicKey? Find(string keyId) => _byId.GetValueOrDefault(keyId);

    /// <summary>The trusted key ids, shortened, for messages.</summary>
    public string Describe()
    {
        var ids = new List<string>(_byId.Count);
        foreach (string id in _byId.Keys) ids.Add(id.Length > 16 ? id[..16] + "…" : id);
        return string.Join(", ", ids);
    }

    public void Dispose()
    {
        foreach (var k in _owned) k.Dispose();
        _owned.Clear();
        _byId.Clear();
    }
}
