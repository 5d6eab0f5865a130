using FastMcp.Audit.Crypto;
using FastMcp.Gateway.Configuration;
using FastMcp.Identity;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>What a server running as another user must not be able to do with a path of the gateway's.</summary>
internal enum SecretFileUse
{
    /// <summary>A secret: reading it leaks it, writing it replaces it.</summary>
    Secret,
    /// <summary>Something the gateway trusts (public keys, CAs, pins, certificates): only writing it matters.</summary>
    Trusted,
    /// <summary>Where the gateway writes its record: writing (or creating) there forges or destroys it.</summary>
    Record,
}

/// <summary>One file or folder the configuration gives the gateway, by the field that names it.</summary>
internal readonly record struct GatewaySecretFile(string Field, string Path, SecretFileUse Use);

/// <summary>
/// The files and folders of the gateway's own configuration a stdio server must not reach (the *File fields, the audit
/// signing key and directory, the approval state): what the stdio.runAs start-up check walks. Environment variables
/// are withheld separately (GatewaySecretVariables).
/// </summary>
internal static class GatewaySecretFiles
{
    public static List<GatewaySecretFile> Of(GatewayOptions o)
    {
        var files = new List<GatewaySecretFile>();
        void Add(string field, string? path, SecretFileUse use)
        {
            if (!string.IsNullOrEmpty(path)) files.Add(new GatewaySecretFile(field, path, use));
        }

        Add("audit.directory", o.Audit.Directory, SecretFileUse.Record);
        bool development = o.Identity?.Mode is IdentityModes.Dev or IdentityModes.Anonymous;
        Add("audit.signingKeyPath", string.IsNullOrEmpty(o.Audit.SigningKeyPath) && development ? SigningKeyCustody.DefaultPath(o.Audit.Directory) : o.Audit.SigningKeyPath,
            SecretFileUse.Secret);
        Add("audit.export.tokenFile", o.Audit.Export?.TokenFile, SecretFileUse.Secret);
        Add("audit.export.caFile", o.Audit.Export?.CaFile, SecretFileUse.Trusted);
        Add("audit.anchoring.witnessTokenFile", o.Audit.Anchoring?.WitnessTokenFile, SecretFileUse.Secret);
        Add("audit.anchoring.caFile", o.Audit.Anchoring?.CaFile, SecretFileUse.Trusted);
        Add("audit.shipping.directory", o.Audit.Shipping?.Directory, SecretFileUse.Record);
        Add("audit.shipping.s3.caFile", o.Audit.Shipping?.S3?.CaFile, SecretFileUse.Trusted);
        Add("masking.fingerprintKeyFile", o.Masking.FingerprintKeyFile, SecretFileUse.Secret);
        Add("admin.metricsTokenFile", o.Admin.MetricsTokenFile, SecretFileUse.Secret);
        Add("approvals.stateFile", o.Approvals.StateFile, SecretFileUse.Secret);
        Add("approvals.webhook.secretFile", o.Approvals.Webhook?.SecretFile, SecretFileUse.Secret);
        Add("approvals.webhook.caFile", o.Approvals.Webhook?.CaFile, SecretFileUse.Trusted);
        Add("toolPins.file", o.ToolPins.File, SecretFileUse.Trusted);
        if (o.Tls is { } tls)
        {
            Add("tls.keyFile", tls.KeyFile, SecretFileUse.Secret);
            Add("tls.certificateFile", tls.CertificateFile, SecretFileUse.Trusted);
            Add("tls.clientCaFile", tls.ClientCaFile, SecretFileUse.Trusted);
        }
        if (o.Identity is { } identity)
        {
            if (identity.Mode == IdentityModes.Dev) Add("identity.devKeyDirectory", string.IsNullOrEmpty(identity.DevKeyDirectory) ? DevKeys.DefaultDirectory : identity.DevKeyDirectory, SecretFileUse.Secret);
            for (int i = 0; i < identity.Issuers.Count; i++)
            {
                Add($"identity.issuers[{i}].jwksFile", identity.Issuers[i].JwksFile, SecretFileUse.Trusted);
                Add($"identity.issuers[{i}].caFile", identity.Issuers[i].CaFile, SecretFileUse.Trusted);
            }
            Add("identity.dpop.nonceKeyFile", identity.Dpop?.NonceKeyFile, SecretFileUse.Secret);
            Credential("identity.upstreamCredential", identity.UpstreamCredential);
        }
        Upstream("upstream", o.Upstream);
        foreach ((string name, UpstreamOptions upstream) in o.Upstreams) Upstream($"upstreams.{name}", upstream);
        return files;

        void Upstream(string field, UpstreamOptions u)
        {
            Add($"{field}.tls.keyFile", u.Tls?.KeyFile, SecretFileUse.Secret);
            Add($"{field}.tls.certificateFile", u.Tls?.CertificateFile, SecretFileUse.Trusted);
            Add($"{field}.tls.caFile", u.Tls?.CaFile, SecretFileUse.Trusted);
            Credential($"{field}.credential", u.Credential);
        }

        void Credential(string field, UpstreamCredentialOptions? c)
        {
            if (c is null) return;
            Add($"{field}.valueFile", c.ValueFile, SecretFileUse.Secret);
            Add($"{field}.oauth.clientSecretFile", c.OAuth?.ClientSecretFile, SecretFileUse.Secret);
            Add($"{field}.oauth.caFile", c.OAuth?.CaFile, SecretFileUse.Trusted);
            Add($"{field}.tokenExchange.clientSecretFile", c.TokenExchange?.ClientSecretFile, SecretFileUse.Secret);
            Add($"{field}.tokenExchange.caFile", c.TokenExchange?.CaFile, SecretFileUse.Trusted);
        }
    }
}
