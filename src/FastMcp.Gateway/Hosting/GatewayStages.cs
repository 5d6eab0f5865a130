using System.Net;
using FastMcp.Audit;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Stages;
using FastMcp.Identity;
using FastMcp.Pan;
using FastMcp.Policy;

namespace FastMcp.Gateway.Hosting;

/// <summary>Builds the data-path stages from validated options, naming the field of anything that cannot be used.</summary>
internal sealed class GatewayStages : IAsyncDisposable
{
    public Authentication? Authentication { get; init; }
    public PolicyAuthorization? Authorization { get; init; }
    public PanMasking? Masking { get; init; }
    public ListFiltering? ListFiltering { get; init; }
    public AuditRecording? Audit { get; init; }
    public UpstreamCredential? UpstreamCredential { get; init; }
    public ApprovalBroker? Approvals { get; init; }

    /// <summary>Response transforms in order: filter lists first, then mask whatever remains.</summary>
    public IResponseTransform[] ResponseTransforms
    {
        get
        {
            var list = new List<IResponseTransform>(2);
            if (ListFiltering is not null) list.Add(ListFiltering);
            if (Masking is not null) list.Add(Masking);
            return [.. list];
        }
    }

    public static PolicyEngine CompilePolicy(PolicyOptions? policy)
    {
        if (policy is null) throw new ConfigurationException("policy", "required: write at least one rule (without rules every call is denied)");
        try
        {
            return PolicyEngine.Compile(policy);
        }
        catch (PolicyException e)
        {
            throw new ConfigurationException($"policy.rules[{e.RuleName ?? "?"}].{e.Field ?? "?"}", e.Message);
        }
    }

    /// <summary>
    /// Everything <see cref="CreateAsync"/> checks that needs no socket, no network fetch and no
    /// file written (`fastmcp config check`): identity against the listeners, the policy, masking
    /// and its key, the audit settings and signing key, the upstream credential and the webhook secret.
    /// </summary>
    public static void Check(GatewayOptions options, IReadOnlyList<IPEndPoint> listeners)
    {
        if (options.Passthrough) return;
        IdentityOptions identity = ValidateIdentity(options, listeners);
        CheckMaskProfiles(CompilePolicy(options.Policy), CreateMasking(options.Masking));

        // serve generates a key at the default path on first start when none is configured.
        string signingKey = string.IsNullOrEmpty(options.Audit.SigningKeyPath) ? DefaultSigningKeyPath(options.Audit) : options.Audit.SigningKeyPath;
        string configured = options.Audit.SigningKeyPath;
        options.Audit.SigningKeyPath = signingKey;
        try
        {
            ValidateAudit(options.Audit);
        }
        finally
        {
            options.Audit.SigningKeyPath = configured;
        }
        if (!string.IsNullOrEmpty(configured) || File.Exists(signingKey))
        {
            try
            {
                using var signer = FastMcp.Audit.Crypto.AuditSigner.FromPemFile(signingKey);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                throw new ConfigurationException("audit.signingKeyPath", $"cannot load the signing key '{signingKey}': {e.Message}");
            }
        }

        CreateUpstreamCredential(identity)?.Dispose();
        if (options.Approvals.Webhook.IsConfigured) options.Approvals.Webhook.LoadSecret();
    }

    private static IdentityOptions ValidateIdentity(GatewayOptions options, IReadOnlyList<IPEndPoint> listeners)
    {
        IdentityOptions identity = options.Identity ?? throw new ConfigurationException("identity", "required (mode oidc, dev or anonymous)");
        try
        {
            identity.Validate();
            foreach (IPEndPoint ep in listeners) identity.ValidateListener(ep);
        }
        catch (IdentityConfigurationException e)
        {
            throw new ConfigurationException("identity", e.Message);
        }
        return identity;
    }

    private static PanMasking? CreateMasking(MaskingOptions options)
    {
        if (!options.Enabled) return null;
        byte[] key = PanKeyLoader.Load(options, out bool ephemeral);
        if (ephemeral) Log.Warn("masking: no fingerprint key configured (masking.fingerprintKeyFile or $FASTMCP_PAN_KEY): using a random per-process key");
        var profiles = new Dictionary<string, PanMasking>(StringComparer.Ordinal);
        foreach ((string name, MaskingProfileOptions? profile) in options.Profiles ?? [])
        {
            string field = $"masking.profiles.{name}";
            if (string.IsNullOrWhiteSpace(name)) throw new ConfigurationException("masking.profiles", "a profile name is blank");
            if (profile is null) throw new ConfigurationException(field, "must be an object");
            profiles.Add(name, BuildMasking(field, profile.KeepFirst ?? options.KeepFirst, profile.KeepLast ?? options.KeepLast,
                profile.Requests ?? options.Requests, profile.Numbers ?? options.Numbers, key, profiles: null));
        }
        return BuildMasking("masking", options.KeepFirst, options.KeepLast, options.Requests, options.Numbers, key, profiles);
    }

    private static PanMasking BuildMasking(string field, int keepFirst, int keepLast, string requests, string numbers, byte[] key,
        Dictionary<string, PanMasking>? profiles)
    {
        RequestCardMode mode = requests switch
        {
            "mask" => RequestCardMode.Mask,
            "forward" => RequestCardMode.Forward,
            "block" => RequestCardMode.Block,
            _ => throw new ConfigurationException($"{field}.requests", $"'{requests}' is not one of mask, forward, block"),
        };
        RequestNumberMode numberMode = numbers switch
        {
            "detect" => RequestNumberMode.Detect,
            "mask" => RequestNumberMode.Mask,
            "block" => RequestNumberMode.Block,
            _ => throw new ConfigurationException($"{field}.numbers", $"'{numbers}' is not one of detect, mask, block"),
        };
        if (numberMode != RequestNumberMode.Detect && mode != RequestCardMode.Mask)
            throw new ConfigurationException($"{field}.numbers", $"applies only when requests is mask (requests '{requests}' never rewrites a request)");
        PanMasker masker;
        try
        {
            masker = new PanMasker(new PanMaskingOptions { KeepFirst = keepFirst, KeepLast = keepLast, FingerprintKey = key });
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException(field, e.Message);
        }
        return new PanMasking(masker, mode, numberMode, profiles);
    }

    /// <summary>
    /// Every maskProfile a rule names must be a profile of the masking in force (masking.profiles); with masking
    /// disabled no rule may name one. Checked at start and on every policy reload.
    /// </summary>
    public static void CheckMaskProfiles(PolicyEngine engine, PanMasking? masking)
    {
        foreach (CompiledRule rule in engine.Rules)
        {
            if (rule.MaskProfile is not { } profile) continue;
            if (masking is null)
                throw new ConfigurationException($"policy.rules[{rule.Name}].maskProfile", $"names profile '{profile}', but masking is disabled");
            if (masking.Profile(profile) is null)
                throw new ConfigurationException($"policy.rules[{rule.Name}].maskProfile",
                    $"no masking profile '{profile}' (masking.profiles defines {(masking.ProfileNames.Count == 0 ? "none" : string.Join(", ", masking.ProfileNames))})");
        }
    }

    private static string DefaultSigningKeyPath(AuditOptions audit) => Path.Combine(audit.Directory, "audit-signing-key.pem");

    private static void ValidateAudit(AuditOptions audit)
    {
        try
        {
            audit.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException($"audit.{System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(e.ParamName ?? "")}", e.Message);
        }
    }

    private static UpstreamCredential? CreateUpstreamCredential(IdentityOptions identity)
    {
        if (!identity.UpstreamCredential.IsConfigured) return null;
        try
        {
            return new UpstreamCredential(identity.UpstreamCredential);
        }
        catch (IdentityConfigurationException e)
        {
            throw new ConfigurationException("identity.upstreamCredential", e.Message);
        }
    }

    public static async Task<GatewayStages> CreateAsync(GatewayOptions options, IReadOnlyList<IPEndPoint> listeners, CancellationToken ct)
    {
        if (options.Passthrough) return new GatewayStages();

        IdentityOptions identity = ValidateIdentity(options, listeners);
        PolicyEngine engine = CompilePolicy(options.Policy);
        PanMasking? masking = CreateMasking(options.Masking);
        CheckMaskProfiles(engine, masking);

        AuditOptions auditOptions = options.Audit;
        if (string.IsNullOrEmpty(auditOptions.SigningKeyPath))
        {
            auditOptions.SigningKeyPath = DefaultSigningKeyPath(auditOptions);
            if (!File.Exists(auditOptions.SigningKeyPath))
            {
                Directory.CreateDirectory(auditOptions.Directory);
                AuditKeys.Generate(auditOptions.SigningKeyPath, Path.Combine(auditOptions.Directory, "audit-signing-key.pub.pem"));
                Log.Warn($"audit: generated a signing key at {auditOptions.SigningKeyPath}; give {Path.Combine(auditOptions.Directory, "audit-signing-key.pub.pem")} to auditors, keep the private key elsewhere in production (audit.signingKeyPath)");
            }
        }
        ValidateAudit(auditOptions);
        auditOptions.FieldMasker = masking?.Masker;

        Authentication authentication = await Authentication.CreateAsync(identity, ct).ConfigureAwait(false);
        AuditLog log;
        try
        {
            log = await AuditLog.OpenAsync(auditOptions, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            await authentication.DisposeAsync().ConfigureAwait(false);
            throw new ConfigurationException("audit", $"cannot open the audit log: {e.Message}");
        }
        var authorization = new PolicyAuthorization(engine);
        var audit = new AuditRecording(log, options.Upstream.Url, masking?.Masker);
        ApprovalWebhook? webhook = null;
        try
        {
            if (options.Approvals.Webhook.IsConfigured) webhook = new ApprovalWebhook(options.Approvals.Webhook);
        }
        catch
        {
            await authentication.DisposeAsync().ConfigureAwait(false);
            await log.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new GatewayStages
        {
            Approvals = new ApprovalBroker(options.Approvals, audit, webhook, () => RuleApproverGroups(authorization.Engine)),
            Authentication = authentication,
            Authorization = authorization,
            Masking = masking,
            ListFiltering = new ListFiltering(authorization),
            Audit = audit,
            UpstreamCredential = CreateUpstreamCredential(identity),
        };
    }

    /// <summary>Groups named as approvers by the policy in force (they may use the approvals API).</summary>
    private static IEnumerable<string> RuleApproverGroups(PolicyEngine engine)
    {
        foreach (CompiledRule rule in engine.Rules)
            foreach (string g in rule.Approvers) yield return g;
    }

    public async ValueTask DisposeAsync()
    {
        if (Approvals is not null) await Approvals.DisposeAsync().ConfigureAwait(false);
        if (Audit is not null) await Audit.Log.DisposeAsync().ConfigureAwait(false);
        if (Authentication is not null) await Authentication.DisposeAsync().ConfigureAwait(false);
        UpstreamCredential?.Dispose();
    }
}
