using System.Net;
using FastMcp.Audit;
using FastMcp.Audit.Crypto;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.ToolPins;
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
    public ToolPinning? ToolPins { get; init; }

    /// <summary>
    /// Response transforms in order: compare tool definitions with their pins (on the list as the upstream sent it),
    /// then filter lists by policy, then mask whatever remains.
    /// </summary>
    public IResponseTransform[] ResponseTransforms
    {
        get
        {
            var list = new List<IResponseTransform>(3);
            if (ToolPins is not null) list.Add(new ToolPinListCheck(ToolPins));
            if (ListFiltering is not null) list.Add(ListFiltering);
            if (Masking is not null) list.Add(Masking);
            return [.. list];
        }
    }

    public static PolicyEngine CompilePolicy(PolicyOptions? policy) => CompilePolicy(policy, TimeProvider.System);

    /// <summary>The same, deciding "time" conditions by <paramref name="clock"/>.</summary>
    public static PolicyEngine CompilePolicy(PolicyOptions? policy, TimeProvider clock) => CompilePolicy(policy, clock, PolicyEngine.DefaultSensitiveMembers);

    /// <summary>
    /// The same, containsSensitiveData looking for <paramref name="sensitiveMembers"/>: the gateway passes
    /// <see cref="PolicySensitiveMembers"/>, so the policy sees what its masking blanks.
    /// </summary>
    public static PolicyEngine CompilePolicy(PolicyOptions? policy, TimeProvider clock, SensitiveMemberNames sensitiveMembers)
    {
        if (policy is null) throw new ConfigurationException("policy", "required: write at least one rule (without rules every call is denied)");
        try
        {
            return PolicyEngine.Compile(policy, clock, sensitiveMembers);
        }
        catch (PolicyException e) when (e.Section is { } section)
        {
            // policy.serverRequests: its own fields (defaultAction) or one of its rules.
            throw new ConfigurationException(e.RuleName is null ? $"policy.{section}.{e.Field ?? "?"}" : $"policy.{section}.rules[{e.RuleName}].{e.Field ?? "?"}", e.Message);
        }
        catch (PolicyException e)
        {
            throw new ConfigurationException($"policy.rules[{e.RuleName ?? "?"}].{e.Field ?? "?"}", e.Message);
        }
    }

    /// <summary>
    /// The member names a containsSensitiveData condition looks for: those of the masking in force (<paramref name="masking"/>,
    /// whose masker blanks them), or, with masking off, the list <paramref name="options"/> names, refused naming the field
    /// as masking refuses it.
    /// </summary>
    public static SensitiveMemberNames PolicySensitiveMembers(MaskingOptions options, PanMasking? masking)
    {
        if (masking is not null) return masking.Masker.SensitiveMembers;
        if (options.SensitiveMembers is not { } names) throw new ConfigurationException("masking.sensitiveMembers", "must be an array of member names ([] turns it off)");
        if (SensitiveMemberNames.Validate(names, out int bad) is { } error) throw new ConfigurationException($"masking.sensitiveMembers[{bad}]", error);
        return new SensitiveMemberNames(names);
    }

    /// <summary>
    /// Everything <see cref="CreateAsync"/> checks that needs no socket, no network fetch and no
    /// file written (`fastmcp config check`): identity against the listeners, the policy, masking
    /// and its key, the audit settings and signing key, the upstream credential and the webhook secret.
    /// </summary>
    public static void Check(GatewayOptions options, IReadOnlyList<IPEndPoint> listeners)
    {
        // The scrape token is read as serve reads it (a missing file or variable, a token too short).
        Admin.AdminViewRules.From(options.Admin);
        if (options.Passthrough)
        {
            CreateSessionSeal(options);
            CreateTaskSeal(options);
            ToolPinning.Create(options);
            return;
        }
        ToolPinning.Create(options);
        IdentityOptions identity = ValidateIdentity(options, listeners);
        PanMasking? checkedMasking = CreateMasking(options.Masking);
        PolicyEngine checkedEngine = CompilePolicy(options.Policy, TimeProvider.System, PolicySensitiveMembers(options.Masking, checkedMasking));
        CheckMaskProfiles(checkedEngine, checkedMasking);
        CheckRuleUpstreams(checkedEngine, options);

        // serve generates a key at the default path on first start in the development modes only.
        string configured = options.Audit.SigningKeyPath;
        options.Audit.SigningKeyPath = string.IsNullOrEmpty(configured) ? SigningKeyCustody.DefaultPath(options.Audit.Directory) : configured;
        try
        {
            ValidateAudit(options.Audit);
        }
        finally
        {
            options.Audit.SigningKeyPath = configured;
        }
        string signingKey = SigningKeyPathFor(options, out bool development);
        if (!string.IsNullOrEmpty(configured) || File.Exists(signingKey)) CheckSigningKey(signingKey, options.Audit.Directory, development).Dispose();
        CheckPreviousPublicKeys(options.Audit.PreviousPublicKeys);

        CreateUpstreamCredential(identity, fetchTokens: false)?.Dispose();
        foreach ((string name, UpstreamOptions upstream) in options.Upstreams) Upstream.RouteTable.LoadCredential(name, upstream, fetchTokens: false)?.Dispose();
        if (options.Approvals.Webhook.IsConfigured) options.Approvals.Webhook.LoadSecret();
        CreateApprovalPeers(options)?.Dispose();
        CreateApprovalStateFile(options);
        CreateSessionSeal(options);
        CreateTaskSeal(options);
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

    /// <summary>
    /// The masking stage <paramref name="options"/> describe (null when disabled). <paramref name="runningKey"/>: on a
    /// reload, the key in force, kept when none is configured (a new random key would break fingerprint correlation).
    /// </summary>
    public static PanMasking? CreateMasking(MaskingOptions options, byte[]? runningKey = null)
    {
        if (!options.Enabled) return null;
        byte[] key = PanKeyLoader.Load(options, out bool ephemeral);
        if (ephemeral && runningKey is not null) key = runningKey;
        else if (ephemeral) Log.Warn("masking: no fingerprint key configured (masking.fingerprintKeyFile or $FASTMCP_PAN_KEY): using a random per-process key");
        if (options.SensitiveMembers is not { } sensitive) throw new ConfigurationException("masking.sensitiveMembers", "must be an array of member names ([] turns it off)");
        if (SensitiveMemberNames.Validate(sensitive, out int bad) is { } error) throw new ConfigurationException($"masking.sensitiveMembers[{bad}]", error);
        var profiles = new Dictionary<string, PanMasking>(StringComparer.Ordinal);
        foreach ((string name, MaskingProfileOptions? profile) in options.Profiles ?? [])
        {
            string field = $"masking.profiles.{name}";
            if (string.IsNullOrWhiteSpace(name)) throw new ConfigurationException("masking.profiles", "a profile name is blank");
            if (profile is null) throw new ConfigurationException(field, "must be an object");
            profiles.Add(name, BuildMasking(field, profile.KeepFirst ?? options.KeepFirst, profile.KeepLast ?? options.KeepLast,
                profile.Requests ?? options.Requests, profile.Numbers ?? options.Numbers, sensitive, key, profiles: null));
        }
        return BuildMasking("masking", options.KeepFirst, options.KeepLast, options.Requests, options.Numbers, sensitive, key, profiles);
    }

    /// <summary>
    /// The sealer of session ids when sessions.sealed is on (null when off), keyed from the configured card fingerprint
    /// key, whether or not masking is enabled. Without one it refuses to start: a random per-process key would make every
    /// sealed id fail after a restart and on every other replica.
    /// </summary>
    public static Sessions.IdSeal? CreateSessionSeal(GatewayOptions options) =>
        options.Sessions.Sealed ? Sessions.IdSeal.ForSessions(SealKey(options, "sessions.sealed", "session")) : null;

    /// <summary>The sealer of task ids when tasks.sealed is on (null when off), keyed and refused as for sessions.</summary>
    public static Tasks.TaskSeal? CreateTaskSeal(GatewayOptions options) =>
        options.Tasks.Sealed ? Tasks.TaskSeal.Create(SealKey(options, "tasks.sealed", "task id")) : null;

    /// <summary>
    /// The client of the other replicas' admin listeners when approvals.peers.urls names any (null otherwise), keyed from
    /// the configured card fingerprint key: peers believe one another only under a key they share.
    /// </summary>
    public static ApprovalPeers? CreateApprovalPeers(GatewayOptions options)
    {
        if (!options.Approvals.Peers.IsConfigured) return null;
        byte[] key = PanKeyLoader.Load(options.Masking, out bool ephemeral);
        if (ephemeral)
        {
            throw new ConfigurationException("approvals.peers.urls", "needs the card fingerprint key (masking.fingerprintKeyFile or $FASTMCP_PAN_KEY), the same on every replica: "
                + "peer requests and answers are MACed under a key derived from it, and a random per-process key is shared with no one");
        }
        return new ApprovalPeers(options.Approvals.Peers, key);
    }

    /// <summary>
    /// approvals.stateFile, sealed under a key derived from the configured card fingerprint key; null when not set. Without
    /// a configured key it is a start error: a random per-process key would make the file unreadable to the next start.
    /// </summary>
    public static ApprovalStateFile? CreateApprovalStateFile(GatewayOptions options)
    {
        if (options.Approvals.StateFile is not { } path) return null;
        byte[] key = PanKeyLoader.Load(options.Masking, out bool ephemeral);
        if (ephemeral)
        {
            throw new ConfigurationException("approvals.stateFile", "needs the card fingerprint key (masking.fingerprintKeyFile or $FASTMCP_PAN_KEY): "
                + "the file is MACed under a key derived from it, and a random per-process key would make it unreadable to the next start");
        }
        return new ApprovalStateFile(path, key);
    }

    /// <summary>The configured card fingerprint key every seal key derives from; a start error naming <paramref name="field"/> without one.</summary>
    private static byte[] SealKey(GatewayOptions options, string field, string what)
    {
        byte[] key = PanKeyLoader.Load(options.Masking, out bool ephemeral);
        if (ephemeral)
        {
            throw new ConfigurationException(field, "needs the card fingerprint key (masking.fingerprintKeyFile or $FASTMCP_PAN_KEY), the same on every replica: "
                + $"a random per-process key would break every sealed {what} on restart and on every other replica");
        }
        return key;
    }

    /// <param name="sensitiveMembers">masking.sensitiveMembers: a profile masks them as the section does (it only picks visible card digits).</param>
    private static PanMasking BuildMasking(string field, int keepFirst, int keepLast, string requests, string numbers, List<string> sensitiveMembers, byte[] key,
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
            masker = new PanMasker(new PanMaskingOptions { KeepFirst = keepFirst, KeepLast = keepLast, FingerprintKey = key, SensitiveMembers = sensitiveMembers });
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException(field, FastMcp.Http.PlainError.Describe(e));
        }
        return new PanMasking(masker, mode, numberMode, profiles, key);
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

    /// <summary>
    /// Every upstream a rule is scoped to must be one the gateway forwards to ("default" or a key of "upstreams"): a
    /// misspelt name would make an allow rule dead or, worse, a deny rule never match. Checked at start and on reload.
    /// </summary>
    public static void CheckRuleUpstreams(PolicyEngine engine, GatewayOptions options)
    {
        List<string> names = RouteValidation.UpstreamNames(options);
        CheckRuleUpstreams(engine.Rules, "policy.rules", names);
        CheckRuleUpstreams(engine.ServerRequests.Rules, "policy.serverRequests.rules", names);
    }

    private static void CheckRuleUpstreams(IReadOnlyList<CompiledRule> rules, string field, List<string> names)
    {
        foreach (CompiledRule rule in rules)
        {
            for (int i = 0; i < rule.Upstreams.Length; i++)
            {
                if (!names.Contains(rule.Upstreams[i]))
                    throw new ConfigurationException($"{field}[{rule.Name}].upstreams[{i}]",
                        $"no upstream named '{rule.Upstreams[i]}' (the gateway forwards to {(names.Count == 0 ? "none" : string.Join(", ", names))})");
            }
        }
    }

    /// <summary>
    /// The signing key serve uses: the configured one or, in the development identity modes (dev,
    /// anonymous: what the embedded defaults run), one generated in the audit folder. With identity
    /// mode oidc the path must be configured: the default is inside the audit folder.
    /// </summary>
    private static string SigningKeyPathFor(GatewayOptions options, out bool development)
    {
        development = options.Identity?.Mode is IdentityModes.Dev or IdentityModes.Anonymous;
        if (!string.IsNullOrEmpty(options.Audit.SigningKeyPath)) return options.Audit.SigningKeyPath;
        if (development) return SigningKeyCustody.DefaultPath(options.Audit.Directory);
        throw new ConfigurationException("audit.signingKeyPath",
            "required when identity.mode is oidc: the default key would be generated inside the audit directory, where whoever can write the log could also re-sign it; "
            + "make one with `fastmcp keys generate`, keep the private key outside the audit directory (owner-only, e.g. a Kubernetes Secret file) and give auditors the public key");
    }

    /// <summary>
    /// Refuses a key in the audit folder (outside development modes), one others can read, or one that does not load;
    /// returns the loaded key, which the caller owns (serve hands it to the audit log, so the file is read once).
    /// </summary>
    private static AuditSigner CheckSigningKey(string path, string auditDirectory, bool development)
    {
        string? warning;
        AuditSigner signer;
        try
        {
            warning = SigningKeyCustody.Check(path, auditDirectory, development);
            signer = AuditSigner.FromPemFile(path);
        }
        catch (SigningKeyCustodyException e)
        {
            throw new ConfigurationException("audit.signingKeyPath", e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new ConfigurationException("audit.signingKeyPath", $"cannot load the signing key '{path}': {FastMcp.Http.PlainError.Describe(e, path)}");
        }
        if (warning is not null) Log.Warn("audit: " + warning);
        return signer;
    }

    /// <summary>A previous key that does not load would turn every note it signed into one the start cannot verify: refused here, by name.</summary>
    private static void CheckPreviousPublicKeys(string[] paths)
    {
        if (paths.Length == 0) return;
        try
        {
            using var keys = FastMcp.Audit.Verification.TrustedKeys.Load(paths);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException("audit.previousPublicKeys", $"cannot load a previous public key: {FastMcp.Http.PlainError.Describe(e)}");
        }
    }

    private static void ValidateAudit(AuditOptions audit)
    {
        try
        {
            audit.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException($"audit.{System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(e.ParamName ?? "")}", FastMcp.Http.PlainError.Describe(e));
        }
    }

    private static UpstreamCredential? CreateUpstreamCredential(IdentityOptions identity, bool fetchTokens)
    {
        if (!identity.UpstreamCredential.IsConfigured) return null;
        try
        {
            return new UpstreamCredential(identity.UpstreamCredential, TimeProvider.System,
                Upstream.RouteTable.CredentialStart(Configuration.RouteValidation.DefaultUpstreamName, fetchTokens));
        }
        catch (IdentityConfigurationException e)
        {
            throw new ConfigurationException("identity.upstreamCredential", e.Message);
        }
    }

    public static Task<GatewayStages> CreateAsync(GatewayOptions options, IReadOnlyList<IPEndPoint> listeners, CancellationToken ct) =>
        CreateAsync(options, listeners, TimeProvider.System, ct);

    /// <summary>The same, the policy deciding "time" conditions by <paramref name="policyClock"/> (serve passes the system clock).</summary>
    public static async Task<GatewayStages> CreateAsync(GatewayOptions options, IReadOnlyList<IPEndPoint> listeners, TimeProvider policyClock, CancellationToken ct)
    {
        // Refused before anything is opened (the host builds its own).
        CreateSessionSeal(options);
        CreateTaskSeal(options);
        ToolPinning? toolPins = ToolPinning.Create(options);
        if (options.Passthrough) return new GatewayStages();
        CreateApprovalPeers(options)?.Dispose();
        ApprovalStateFile? approvalState = CreateApprovalStateFile(options);

        IdentityOptions identity = ValidateIdentity(options, listeners);
        PanMasking? masking = CreateMasking(options.Masking);
        PolicyEngine engine = CompilePolicy(options.Policy, policyClock, PolicySensitiveMembers(options.Masking, masking));
        CheckMaskProfiles(engine, masking);
        CheckRuleUpstreams(engine, options);

        AuditOptions auditOptions = options.Audit;
        string signingKey = SigningKeyPathFor(options, out bool development);
        if (string.IsNullOrEmpty(auditOptions.SigningKeyPath))
        {
            auditOptions.SigningKeyPath = signingKey;
            if (!File.Exists(signingKey))
            {
                string publicKey = Path.Combine(auditOptions.Directory, SigningKeyCustody.DefaultPublicKeyName);
                Directory.CreateDirectory(auditOptions.Directory);
                AuditKeys.Generate(signingKey, publicKey);
                Log.Warn($"audit: generated a development signing key at {signingKey} (public key {publicKey}); production (identity mode oidc) refuses a key in the audit directory: set audit.signingKeyPath");
            }
        }
        ValidateAudit(auditOptions);
        // The key checked here is the one the audit log signs with: it owns it from OpenAsync on (disposed with the log,
        // or by it when opening fails), so the key file is read and parsed once.
        AuditSigner signer = CheckSigningKey(signingKey, auditOptions.Directory, development);
        Authentication authentication;
        try
        {
            CheckPreviousPublicKeys(auditOptions.PreviousPublicKeys);
            auditOptions.Anchoring.OnProblem ??= message => Log.Warn(message);
            auditOptions.OnProblem ??= message => Log.Warn(message);
            if (auditOptions.Shipping is { } shipping) shipping.OnProblem ??= message => Log.Warn(message);
            auditOptions.FieldMasker = masking?.Masker;
            authentication = await Authentication.CreateAsync(identity,
                certificateBoundTokens: options.Tls?.ClientCertificates is "optional" or "require", ct).ConfigureAwait(false);
        }
        catch (IdentityConfigurationException e)
        {
            signer.Dispose();
            // An issuer whose keys cannot be loaded (jwksFile unreadable, JWKS unreachable) is a refused start, said by
            // field, never an unhandled exception's stack.
            throw new ConfigurationException("identity", e.Message);
        }
        catch
        {
            signer.Dispose();
            throw;
        }
        AuditLog log;
        try
        {
            log = await AuditLog.OpenAsync(auditOptions, signer, ct).ConfigureAwait(false);
        }
        catch (AuditTamperingException e)
        {
            Log.Error($"audit: TAMPERING: {e.Message}");
            await authentication.DisposeAsync().ConfigureAwait(false);
            throw new ConfigurationException("audit", $"refusing to start: the audit log was tampered with: {e.Message}");
        }
        // InvalidDataException: a file beside the chain that does not parse (the export's cursor), which says what to do.
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or InvalidDataException)
        {
            await authentication.DisposeAsync().ConfigureAwait(false);
            throw new ConfigurationException("audit", $"cannot open the audit log: {FastMcp.Http.PlainError.Describe(e)}");
        }
        // Loud on purpose: the previous run's unfinished segment contradicted a signed checkpoint or seal.
        if (log.StartReport.Tampering is { } tampering)
            Log.Error($"audit: TAMPERING found at start: {tampering}; evidence kept unsigned: {string.Join(", ", log.StartReport.Evidence)}; recorded as AuditTampering");
        else if (log.StartReport.Summary.StartsWith("crash recovery", StringComparison.Ordinal))
            Log.Warn("audit: " + log.StartReport.Summary);
        var authorization = new PolicyAuthorization(engine) { ToolPins = toolPins, Clock = policyClock };
        var audit = new AuditRecording(log, RouteValidation.HasDefaultRoute(options) ? options.Upstream.Describe() : null, masking?.Masker,
            new RecordedFieldKeys(masking?.FingerprintKey, options.Audit.RedactHeaders));
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
        var approvals = new ApprovalBroker(options.Approvals, audit, webhook, () => RuleApproverGroups(authorization.Engine))
        {
            Peers = CreateApprovalPeers(options),
            StateFile = approvalState,
        };
        try
        {
            await approvals.RestoreAsync().ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await approvals.DisposeAsync().ConfigureAwait(false);
            await authentication.DisposeAsync().ConfigureAwait(false);
            await log.DisposeAsync().ConfigureAwait(false);
            throw new ConfigurationException("approvals.stateFile", FastMcp.Http.PlainError.Describe(e));
        }
        return new GatewayStages
        {
            Approvals = approvals,
            Authentication = authentication,
            Authorization = authorization,
            Masking = masking,
            ListFiltering = new ListFiltering(authorization),
            ToolPins = toolPins,
            Audit = audit,
            UpstreamCredential = CreateUpstreamCredential(identity, fetchTokens: true),
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
