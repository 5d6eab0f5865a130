using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// The configuration the Helm chart ships (deploy/helm/fastmcp/files/fastmcp.json) must load with
/// the gateway's real loader and pass `fastmcp config check`. Helm is not available to the tests,
/// so the file's template actions, which are all of the form {{ .Values.path | toJson }} or
/// {{ .Values.path | int }}, are substituted here with the defaults from the chart's values.yaml.
/// </summary>
public sealed partial class HelmChartConfigTests : IDisposable
{
    private static readonly string ChartDir = Path.Combine(RepoRoot(), "deploy", "helm", "fastmcp");
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-chart-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FastMcp.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("FastMcp.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"\{\{-?\s*\.Values\.([A-Za-z0-9_.]+)\s*\|\s*(toJson|int)\s*-?\}\}")]
    private static partial Regex ValueAction();

    [GeneratedRegex(@"\{\{")]
    private static partial Regex AnyAction();

    [GeneratedRegex(@"^-?[0-9]+$")]
    private static partial Regex Integer();

    /// <summary>files/fastmcp.json with every action replaced; <paramref name="overrides"/> maps a values path to its JSON.</summary>
    private static string Render(IReadOnlyDictionary<string, string>? overrides = null)
    {
        Dictionary<string, string> values = ReadValueScalars(File.ReadAllLines(Path.Combine(ChartDir, "values.yaml")));
        string template = File.ReadAllText(Path.Combine(ChartDir, "files", "fastmcp.json"));
        template = template.Replace(ApprovalsInclude, ApprovalsSection(values, overrides), StringComparison.Ordinal);
        template = template.Replace(AdminInclude, AdminSection(values, overrides), StringComparison.Ordinal);
        string rendered = ValueAction().Replace(template, m =>
        {
            string path = m.Groups[1].Value;
            string json = overrides is not null && overrides.TryGetValue(path, out string? o) ? o
                : values.TryGetValue(path, out string? v) ? v
                : throw new InvalidOperationException($"files/fastmcp.json uses .Values.{path}, which values.yaml does not define");
            if (m.Groups[2].Value == "toJson") return json;
            Assert.Matches(Integer(), json);
            return json;
        });
        Assert.DoesNotMatch(AnyAction(), rendered); // only the two supported forms are used
        return rendered;
    }

    private const string ApprovalsInclude = "{{ include \"fastmcp.approvals\" . }}";

    private const string AdminInclude = "{{ include \"fastmcp.admin\" . }}";

    /// <summary>
    /// What the "fastmcp.admin" helper of templates/_helpers.tpl renders: gateway.admin with the listener on the pod address,
    /// and metricsTokenFile under /run/secrets/fastmcp-metrics/ when metricsToken.existingSecret is set.
    /// </summary>
    private static string AdminSection(Dictionary<string, string> values, IReadOnlyDictionary<string, string>? overrides)
    {
        string Value(string path) => overrides is not null && overrides.TryGetValue(path, out string? o) ? o : values[path];
        var admin = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(Value("gateway.admin"))!;
        admin["listen"] = "0.0.0.0:" + Value("service.adminPort");
        if (JsonSerializer.Deserialize<string>(Value("metricsToken.existingSecret")) is { Length: > 0 })
            admin["metricsTokenFile"] = "/run/secrets/fastmcp-metrics/" + JsonSerializer.Deserialize<string>(Value("metricsToken.key"));
        return admin.ToJsonString();
    }

    /// <summary>
    /// What the "fastmcp.approvals" helper of templates/_helpers.tpl renders, for release "fastmcp" in namespace "default":
    /// gateway.approvals, plus peers naming every pod's admin listener through the headless Service when replicaCount
    /// is over 1, existingSecret is set and the values name no peers. (The helper's own text is checked by a test.)
    /// </summary>
    private static string ApprovalsSection(Dictionary<string, string> values, IReadOnlyDictionary<string, string>? overrides)
    {
        string Value(string path) => overrides is not null && overrides.TryGetValue(path, out string? o) ? o : values[path];
        var approvals = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(Value("gateway.approvals"))!;
        int replicas = int.Parse(Value("replicaCount"), System.Globalization.CultureInfo.InvariantCulture);
        bool secret = JsonSerializer.Deserialize<string>(Value("existingSecret")) is { Length: > 0 };
        if (replicas > 1 && secret && !approvals.ContainsKey("peers"))
        {
            var urls = new System.Text.Json.Nodes.JsonArray();
            for (int i = 0; i < replicas; i++) urls.Add($"http://fastmcp-{i}.fastmcp-headless.default.svc:{Value("service.adminPort")}");
            approvals["peers"] = new System.Text.Json.Nodes.JsonObject { ["urls"] = urls };
        }
        return approvals.ToJsonString();
    }

    /// <summary>
    /// The leaf values of values.yaml as JSON text, keyed by dotted path. Reads the subset the
    /// chart's values.yaml is written in: nested "key: value" mappings, plain or quoted scalars,
    /// and one-line flow collections written as JSON.
    /// </summary>
    private static Dictionary<string, string> ReadValueScalars(string[] lines)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var stack = new List<(int Indent, string Key)>();
        foreach (string line in lines)
        {
            string trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed[0] == '#' || trimmed.StartsWith("- ", StringComparison.Ordinal)) continue;
            int indent = line.Length - line.TrimStart(' ').Length;
            int colon = trimmed.IndexOf(':', StringComparison.Ordinal);
            Assert.True(colon > 0, $"values.yaml line outside the supported subset: {line}");
            string key = trimmed[..colon];
            string rest = trimmed[(colon + 1)..].Trim();
            while (stack.Count > 0 && stack[^1].Indent >= indent) stack.RemoveAt(stack.Count - 1);
            string path = string.Join('.', stack.Select(s => s.Key).Append(key));
            if (rest.Length == 0)
            {
                stack.Add((indent, key));
                continue;
            }
            result[path] = ScalarToJson(rest);
        }
        return result;
    }

    private static string ScalarToJson(string yaml)
    {
        if (yaml is "null" or "~" or "true" or "false" || Integer().IsMatch(yaml)) return yaml;
        if (yaml[0] is '{' or '[' or '"')
        {
            try
            {
                using var doc = JsonDocument.Parse(yaml);
                return yaml;
            }
            catch (JsonException)
            {
                // Not JSON (for example [ALL]): such values are not used by files/fastmcp.json.
                return "\"unsupported\"";
            }
        }
        if (yaml[0] == '\'') yaml = yaml[1..^1].Replace("''", "'", StringComparison.Ordinal);
        return "\"" + JsonEncodedText.Encode(yaml).ToString() + "\"";
    }

    private string WriteRendered(string json)
    {
        string path = Path.Combine(_dir, "fastmcp.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void The_shipped_configuration_with_the_default_values_loads_and_passes_config_check_once_a_signing_key_is_set()
    {
        string path = WriteRendered(Render());
        GatewayOptions options = ConfigurationLoader.Load(path);
        Assert.Equal(["0.0.0.0:8080"], options.Listen);
        Assert.Equal("0.0.0.0:9090", options.Admin.Listen);
        Assert.Equal("oidc", options.Identity!.Mode);
        Assert.Equal("/var/lib/fastmcp/audit", options.Audit.Directory);
        Assert.Null(options.Audit.Shipping);

        // The chart refuses to render without a signing key (statefulset.yaml); the gateway refuses it too.
        var stderr = new StringWriter();
        Assert.Equal(2, ConfigCheckCommand.Run(["check", "--config", path], TextWriter.Null, stderr));
        Assert.Contains("'audit.signingKeyPath': required when identity.mode is oidc", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("gateway.audit.signingKeyPath is required", File.ReadAllText(Path.Combine(ChartDir, "templates", "statefulset.yaml")), StringComparison.Ordinal);

        string secrets = Directory.CreateDirectory(Path.Combine(_dir, "secrets")).FullName;
        string signingKey = Path.Combine(secrets, "audit-signing-key.pem");
        FastMcp.Audit.AuditKeys.Generate(signingKey, Path.Combine(secrets, "audit-signing-key.pub.pem"));
        string rendered = Render(new Dictionary<string, string> { ["gateway.audit.signingKeyPath"] = "\"" + JsonEncodedText.Encode(signingKey).ToString() + "\"" });
        // Sealed session ids (on in the chart) need the card fingerprint key: refused by name without it.
        stderr = new StringWriter();
        Assert.Equal(2, ConfigCheckCommand.Run(["check", "--config", WriteRendered(WithoutPanKeyEnv(rendered))], TextWriter.Null, stderr));
        Assert.Contains("'sessions.sealed'", stderr.ToString(), StringComparison.Ordinal);
        path = WriteRendered(WithPanKeyFile(rendered, secrets));
        var stdout = new StringWriter();
        stderr = new StringWriter();
        int exit = ConfigCheckCommand.Run(["check", "--config", path], stdout, stderr);
        Assert.True(exit == 0, stderr.ToString());
        Assert.Equal($"configuration OK: {path}" + Environment.NewLine, stdout.ToString());
    }

    [Fact]
    public void The_shipped_configuration_with_production_values_passes_config_check()
    {
        // What the chart README tells operators to set: the Secret's files, S3 shipping, a webhook, real rules.
        string secrets = Directory.CreateDirectory(Path.Combine(_dir, "secrets")).FullName;
        string signingKey = Path.Combine(secrets, "audit-signing-key.pem");
        FastMcp.Audit.AuditKeys.Generate(signingKey, Path.Combine(secrets, "audit-signing-key.pub.pem"));
        File.WriteAllText(Path.Combine(secrets, "upstream-credential"), "upstream-token-value\n");
        File.WriteAllText(Path.Combine(secrets, "webhook-secret"), "a-webhook-secret-of-some-length\n");
        string Q(string s) => "\"" + JsonEncodedText.Encode(s).ToString() + "\"";
        var overrides = new Dictionary<string, string>
        {
            ["gateway.upstreamUrl"] = Q("http://payments-mcp.payments.svc:3001/mcp"),
            ["gateway.allowedHosts"] = """["mcp.example.com"]""",
            ["gateway.identity.upstreamCredential"] = $$"""{"headerName":"Authorization","scheme":"Bearer","valueFile":{{Q(Path.Combine(secrets, "upstream-credential"))}}}""",
            ["gateway.approvals"] = $$$"""{"approverGroups":["sre-leads"],"webhook":{"url":"https://hooks.example.com/fastmcp","secretFile":{{{Q(Path.Combine(secrets, "webhook-secret"))}}}}}""",
            ["gateway.audit.signingKeyPath"] = Q(signingKey),
            ["gateway.audit.shipping"] = """{"target":"S3","s3":{"bucket":"audit-bucket","region":"eu-west-1","prefix":"fastmcp/"}}""",
            ["gateway.policy"] = """{"rules":[{"name":"protocol","action":"allow","methods":["initialize","ping","notifications/*","tools/list"]},{"name":"refunds","action":"require_approval","methods":["tools/call"],"names":["refund_*"]}]}""",
        };
        // After a key rotation (docs/operations.md): the old key's public half from the Secret.
        string previousKey = Path.Combine(secrets, "audit-previous-key.pub.pem");
        FastMcp.Audit.AuditKeys.Generate(Path.Combine(_dir, "old-signing-key.pem"), previousKey);
        overrides["gateway.audit.previousPublicKeys"] = $"[{Q(previousKey)}]";
        string path = WriteRendered(WithPanKeyFile(Render(overrides), secrets));
        GatewayOptions options = ConfigurationLoader.Load(path);
        Assert.Equal("audit-bucket", options.Audit.Shipping!.S3!.Bucket);
        Assert.Equal([previousKey], options.Audit.PreviousPublicKeys);

        var stderr = new StringWriter();
        int exit = ConfigCheckCommand.Run(["check", "--config", path], TextWriter.Null, stderr);
        Assert.True(exit == 0, stderr.ToString());
    }

    [Fact]
    public void Chart_and_values_files_are_valid_yaml_when_python_yaml_is_available()
    {
        // PyYAML is not a prerequisite of tests/run.sh: without it this test checks nothing more.
        var psi = new System.Diagnostics.ProcessStartInfo("python3")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("""
            import sys
            try:
                import yaml
            except ImportError:
                print("skipped"); sys.exit(0)
            for p in sys.argv[1:]:
                yaml.safe_load(open(p))
            print("ok")
            """);
        psi.ArgumentList.Add(Path.Combine(ChartDir, "Chart.yaml"));
        psi.ArgumentList.Add(Path.Combine(ChartDir, "values.yaml"));
        System.Diagnostics.Process p;
        try
        {
            p = System.Diagnostics.Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return; // no python3
        }
        using (p)
        {
            string output = p.StandardOutput.ReadToEnd();
            string error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, error);
            Assert.Contains(output.Trim(), new[] { "ok", "skipped" });
        }
    }

    [GeneratedRegex(@"\{\{-?(.*?)-?\}\}", RegexOptions.Singleline)]
    private static partial Regex TemplateAction();

    [GeneratedRegex(@"\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")]
    private static partial Regex ValuesReference();

    [GeneratedRegex(@"(?:include|template)\s+""([^""]+)""")]
    private static partial Regex TemplateCall();

    [GeneratedRegex(@"^\s*define\s+""([^""]+)""")]
    private static partial Regex TemplateDefinition();

    /// <summary>
    /// Helm cannot run here, so the templates' structure is checked directly: every action is
    /// closed, every if/with/range/define has its end (and else only inside one), every
    /// include names a template the chart defines, and every .Values path exists in values.yaml.
    /// </summary>
    [Fact]
    public void Templates_are_balanced_and_refer_only_to_defined_templates_and_values()
    {
        string[] files = Directory.GetFiles(Path.Combine(ChartDir, "templates"), "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        Dictionary<string, string> values = ReadValueScalars(File.ReadAllLines(Path.Combine(ChartDir, "values.yaml")));
        var defined = new HashSet<string>(StringComparer.Ordinal);
        var called = new List<(string File, string Name)>();
        foreach (string file in files)
        {
            string text = File.ReadAllText(file);
            string name = Path.GetRelativePath(ChartDir, file);
            Assert.Equal(Regex.Count(text, @"\{\{"), Regex.Count(text, @"\}\}"));
            var open = new Stack<string>();
            foreach (Match m in TemplateAction().Matches(text))
            {
                string action = m.Groups[1].Value.Trim();
                if (action.StartsWith("/*", StringComparison.Ordinal)) continue;
                string keyword = action.Split([' ', '\t', '\n', '('], 2)[0];
                if (keyword is "if" or "with" or "range" or "define" or "block") open.Push(keyword);
                else if (keyword == "else") Assert.True(open.Count > 0 && open.Peek() is "if" or "with" or "range", $"{name}: else outside if/with/range");
                else if (keyword == "end") Assert.True(open.TryPop(out _), $"{name}: an end without an opening action");
                if (TemplateDefinition().Match(action) is { Success: true } d) defined.Add(d.Groups[1].Value);
                foreach (Match c in TemplateCall().Matches(action)) called.Add((name, c.Groups[1].Value));
                foreach (Match v in ValuesReference().Matches(action))
                {
                    string path = v.Groups[1].Value;
                    bool known = values.ContainsKey(path) || values.Keys.Any(k => k.StartsWith(path + ".", StringComparison.Ordinal));
                    Assert.True(known, $"{name} uses .Values.{path}, which values.yaml does not define");
                }
            }
            Assert.True(open.Count == 0, $"{name}: {open.Count} action(s) without an end ({string.Join(", ", open)})");
        }
        foreach (var (file, called_) in called)
            Assert.True(defined.Contains(called_), $"{file} includes \"{called_}\", which no template defines");
    }

    private static Dictionary<string, string> Values() => ReadValueScalars(File.ReadAllLines(Path.Combine(ChartDir, "values.yaml")));

    private static int Int(Dictionary<string, string> values, string key) => int.Parse(values[key], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void The_termination_grace_period_is_derived_from_prestop_shutdown_and_shipping_drain()
    {
        Dictionary<string, string> values = Values();
        int minimum = Int(values, "preStopSleepSeconds") + (Int(values, "gateway.shutdownMs") + 999) / 1000 + Int(values, "shippingDrainSeconds");
        int grace = Int(values, "terminationGracePeriodSeconds");
        Assert.True(grace == 0 || grace >= minimum, $"terminationGracePeriodSeconds {grace} must be 0 (derived) or at least {minimum}");
        string helpers = File.ReadAllText(Path.Combine(ChartDir, "templates", "_helpers.tpl"));
        Assert.Contains("add (int .Values.preStopSleepSeconds) (div (add (int .Values.gateway.shutdownMs) 999) 1000) (int .Values.shippingDrainSeconds)", helpers, StringComparison.Ordinal);
        string sts = File.ReadAllText(Path.Combine(ChartDir, "templates", "statefulset.yaml"));
        Assert.Contains("terminationGracePeriodSeconds: {{ include \"fastmcp.terminationGracePeriodSeconds\" . }}", sts, StringComparison.Ordinal);
        Assert.Contains("fail \"terminationGracePeriodSeconds must be at least", sts, StringComparison.Ordinal);
    }

    [Fact]
    public void A_prestop_sleep_precedes_sigterm_and_readiness_is_the_audit_aware_readyz()
    {
        Dictionary<string, string> values = Values();
        Assert.True(Int(values, "preStopSleepSeconds") > 0);
        string sts = File.ReadAllText(Path.Combine(ChartDir, "templates", "statefulset.yaml"));
        // The kubelet's sleep action: the distroless image has no shell or sleep binary for an exec hook.
        Assert.Matches(@"lifecycle:\s+preStop:\s+sleep:\s+seconds: \{\{ int \.Values\.preStopSleepSeconds \}\}", sts);
        Assert.Equal("/readyz", values["readinessProbe.httpGet.path"].Trim('"'));
        Assert.Equal("admin", values["readinessProbe.httpGet.port"].Trim('"'));
        // /readyz is the route that turns 503 when the audit log cannot be written.
        string admin = File.ReadAllText(Path.Combine(RepoRoot(), "src", "FastMcp.Gateway", "Admin", "AdminEndpoints.cs"));
        Assert.Contains("audit log not writable", admin, StringComparison.Ordinal);
    }

    [Fact]
    public void The_network_policy_keeps_the_admin_port_inside_the_namespace_by_default()
    {
        Dictionary<string, string> values = Values();
        Assert.Equal("true", values["networkPolicy.enabled"].Trim('"'));
        string text = File.ReadAllText(Path.Combine(ChartDir, "templates", "networkpolicy.yaml"));
        // The static skeleton (template-only lines removed, actions blanked) must be YAML whose admin rule has a peer list.
        var skeleton = new StringBuilder();
        foreach (string line in text.Split('\n'))
        {
            string trimmed = line.Trim();
            if (trimmed.StartsWith("{{", StringComparison.Ordinal) && trimmed.EndsWith("}}", StringComparison.Ordinal)) continue;
            skeleton.Append(TemplateAction().Replace(line, "x")).Append('\n');
        }
        string yaml = skeleton.ToString();
        Assert.Matches(@"- ports:\s+- port: admin\s+protocol: TCP\s+from:\s+- podSelector: \{\}", yaml);
        Assert.Matches(@"- ports:\s+- port: mcp", yaml);
        Assert.Contains("kind: NetworkPolicy", yaml, StringComparison.Ordinal);
        Assert.Contains("policyTypes: [Ingress]", yaml, StringComparison.Ordinal);
        string? parsed = RunPython("""
            import sys, yaml
            d = yaml.safe_load(open(sys.argv[1]))
            rules = d["spec"]["ingress"]
            admin = [r for r in rules if r["ports"][0]["port"] == "admin"][0]
            assert admin["from"] == [{"podSelector": {}}], admin
            print("ok")
            """, yaml);
        Assert.True(parsed is null or "ok", parsed);
        // The admin Service stays ClusterIP whatever service.type is.
        string services = File.ReadAllText(Path.Combine(ChartDir, "templates", "service.yaml"));
        Assert.Matches(@"-admin\n(?:.*\n){1,6}spec:\n  type: ClusterIP", services);
    }

    /// <summary>
    /// The Secret's pan-fingerprint-key as the gateway reads it in a pod ($FASTMCP_PAN_KEY from the Secret): here a file
    /// under <paramref name="secrets"/>, since the test cannot set the environment of a process its neighbours share.
    /// </summary>
    private static string WithPanKeyFile(string rendered, string secrets)
    {
        string key = Path.Combine(secrets, "pan-fingerprint-key");
        File.WriteAllText(key, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
        const string masking = "\"masking\": { ";
        Assert.Contains(masking, rendered, StringComparison.Ordinal);
        return rendered.Replace(masking, masking + "\"fingerprintKeyFile\": \"" + JsonEncodedText.Encode(key).ToString() + "\", ", StringComparison.Ordinal);
    }

    /// <summary>The rendered configuration reading the key from an environment variable no test sets (the Secret without pan-fingerprint-key).</summary>
    private static string WithoutPanKeyEnv(string rendered) =>
        rendered.Replace("\"masking\": { ", "\"masking\": { \"fingerprintKeyEnv\": \"FASTMCP_TEST_UNSET_PAN_KEY\", ", StringComparison.Ordinal);

    [Fact]
    public void The_sessions_values_reach_the_gateway_and_a_bad_per_caller_bound_is_refused_by_name()
    {
        GatewayOptions options = ConfigurationLoader.Load(WriteRendered(Render()));
        // Sealed ids let any replica verify a session's caller, so an id not sealed for its caller is refused.
        Assert.True(options.Sessions.Sealed);
        Assert.Equal("refuse", options.Sessions.Unknown);
        string chart = File.ReadAllText(Path.Combine(ChartDir, "templates", "statefulset.yaml")) + File.ReadAllText(Path.Combine(ChartDir, "templates", "_helpers.tpl"));
        // Every replica gets the same key from the one Secret, and cannot start without it while sealing is on.
        Assert.Contains("gateway.sessions.sealed needs the card fingerprint key", chart, StringComparison.Ordinal);
        Assert.Contains("key: pan-fingerprint-key\n      # Sealed session and task ids, and approval peers (several replicas), need it (the same on every replica): a Secret without it is an error then.\n"
            + "      optional: {{ not (or .Values.gateway.sessions.sealed .Values.gateway.tasks.sealed (gt (int .Values.replicaCount) 1)) }}", chart, StringComparison.Ordinal);
        Assert.Equal(1_000, options.Sessions.MaxPerCaller);
        Assert.Equal(5_000, ConfigurationLoader.Load(WriteRendered(Render(new Dictionary<string, string> { ["gateway.sessions.maxPerCaller"] = "5000" }))).Sessions.MaxPerCaller);
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load(WriteRendered(Render(new Dictionary<string, string> { ["gateway.sessions.maxPerCaller"] = "0" }))));
        Assert.Equal("sessions.maxPerCaller", e.Field);
    }

    [Fact]
    public void Sealed_task_ids_are_on_in_the_chart_and_need_the_card_fingerprint_key()
    {
        // Two replicas behind a Service that does not route by session: a task must verify on either.
        Assert.True(ConfigurationLoader.Load(WriteRendered(Render())).Tasks.Sealed);
        Assert.False(ConfigurationLoader.Load(WriteRendered(Render(new Dictionary<string, string> { ["gateway.tasks.sealed"] = "false" }))).Tasks.Sealed);
        Assert.False(new GatewayOptions().Tasks.Sealed);
        string chart = File.ReadAllText(Path.Combine(ChartDir, "templates", "statefulset.yaml"));
        Assert.Contains("{{- if and (not .Values.config) .Values.gateway.tasks.sealed (not .Values.existingSecret) }}\n{{- fail \"gateway.tasks.sealed needs the card fingerprint key", chart, StringComparison.Ordinal);

        // Without the key, and with sealed sessions off, the gateway names the tasks field.
        string rendered = Render(new Dictionary<string, string> { ["gateway.sessions.sealed"] = "false" });
        GatewayOptions options = ConfigurationLoader.Load(WriteRendered(WithoutPanKeyEnv(rendered)));
        var e = Assert.Throws<ConfigurationException>(() => Hosting.GatewayStages.CreateTaskSeal(options));
        Assert.Equal("tasks.sealed", e.Field);
    }

    [Fact]
    public void The_upstream_forward_cookies_value_reaches_the_gateway_and_defaults_to_off()
    {
        Assert.False(ConfigurationLoader.Load(WriteRendered(Render())).Upstream.ForwardCookies);
        Assert.True(ConfigurationLoader.Load(WriteRendered(Render(new Dictionary<string, string> { ["gateway.upstreamForwardCookies"] = "true" }))).Upstream.ForwardCookies);
    }

    [Fact]
    public void The_upstream_forward_headers_value_reaches_the_gateway_and_defaults_to_none()
    {
        Assert.Empty(ConfigurationLoader.Load(WriteRendered(Render())).Upstream.ForwardHeaders);
        Assert.Equal(["X-MCP-*"], ConfigurationLoader.Load(WriteRendered(Render(new Dictionary<string, string> { ["gateway.upstreamForwardHeaders"] = "[\"X-MCP-*\"]" }))).Upstream.ForwardHeaders);
    }

    [Fact]
    public void The_thread_scheduling_value_reaches_the_gateway_and_defaults_to_normal()
    {
        Assert.Equal("normal", Values()["threadScheduling"].Trim('"'));
        string sts = File.ReadAllText(Path.Combine(ChartDir, "templates", "statefulset.yaml"));
        // Passed only when not "normal": the variable would override threads.scheduling in the config file.
        Assert.Matches(@"\{\{- if ne \(\.Values\.threadScheduling \| default ""normal""\) ""normal"" \}\}\s+- name: FASTMCP_THREAD_SCHEDULING\s+value: \{\{ \.Values\.threadScheduling \| quote \}\}\s+\{\{- end \}\}", sts);
        // Both values the chart documents are ones the gateway accepts.
        Assert.Equal(0, FastMcp.Gateway.Transport.ThreadScheduling.Parse("normal"));
        Assert.Equal(3, FastMcp.Gateway.Transport.ThreadScheduling.Parse("batch"));
    }

    [Fact]
    public void An_image_digest_pins_the_image()
    {
        Assert.True(Values().ContainsKey("image.digest"));
        string helpers = File.ReadAllText(Path.Combine(ChartDir, "templates", "_helpers.tpl"));
        Assert.Contains("printf \"%s@%s\" .Values.image.repository .Values.image.digest", helpers, StringComparison.Ordinal);
        Assert.Contains("^sha256:[0-9a-f]{64}$", helpers, StringComparison.Ordinal);
    }

    /// <summary>With helm on PATH the chart is rendered for real; without it this test checks nothing (see the structural tests).</summary>
    [Fact]
    public void The_chart_renders_with_helm_when_helm_is_installed()
    {
        var psi = new System.Diagnostics.ProcessStartInfo("helm") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "template", "t", ChartDir, "--set", "existingSecret=fastmcp", "--set", "gateway.audit.signingKeyPath=/run/secrets/fastmcp/audit-signing-key.pem",
            "--set", "image.digest=sha256:" + new string('a', 64) })
            psi.ArgumentList.Add(a);
        System.Diagnostics.Process p;
        try
        {
            p = System.Diagnostics.Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return; // helm not installed
        }
        using (p)
        {
            string output = p.StandardOutput.ReadToEnd();
            string error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, error);
            Assert.Contains("kind: NetworkPolicy", output, StringComparison.Ordinal);
            Assert.Contains("terminationGracePeriodSeconds: 20", output, StringComparison.Ordinal);
            Assert.Contains("seconds: 5", output, StringComparison.Ordinal);
            Assert.Contains("fastmcp@sha256:" + new string('a', 64), output, StringComparison.Ordinal);
        }
    }

    /// <summary>Runs a python3 script with PyYAML on <paramref name="input"/> (as a file); null when python3 or PyYAML is missing.</summary>
    private string? RunPython(string script, string input)
    {
        string file = Path.Combine(_dir, "input.yaml");
        File.WriteAllText(file, input);
        var psi = new System.Diagnostics.ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("try:\n    import yaml\nexcept ImportError:\n    print('skipped'); raise SystemExit(0)\n" + script);
        psi.ArgumentList.Add(file);
        System.Diagnostics.Process p;
        try
        {
            p = System.Diagnostics.Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
        using (p)
        {
            string output = p.StandardOutput.ReadToEnd().Trim();
            string error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return output == "skipped" ? null : p.ExitCode == 0 ? output : "python: " + error;
        }
    }

    [Fact]
    public void The_chart_app_version_is_the_gateway_version()
    {
        string chart = File.ReadAllText(Path.Combine(ChartDir, "Chart.yaml"));
        Version version = typeof(ConfigurationLoader).Assembly.GetName().Version!;
        Assert.Contains($"appVersion: \"{version.ToString(3)}\"", chart, StringComparison.Ordinal);
    }

    [Fact]
    public void With_several_replicas_and_the_key_every_replica_is_an_approval_peer_through_the_headless_service()
    {
        string helpers = File.ReadAllText(Path.Combine(ChartDir, "templates", "_helpers.tpl"));
        Assert.Contains("{{- if and (gt (int .Values.replicaCount) 1) .Values.existingSecret (not (hasKey $approvals \"peers\")) -}}", helpers, StringComparison.Ordinal);
        Assert.Contains("(printf \"http://%s-%d.%s-headless.%s.svc:%d\" $fullname $ordinal $fullname $.Release.Namespace (int $.Values.service.adminPort))", helpers, StringComparison.Ordinal);
        Assert.Contains(ApprovalsInclude, File.ReadAllText(Path.Combine(ChartDir, "files", "fastmcp.json")), StringComparison.Ordinal);

        var twoReplicas = new Dictionary<string, string> { ["replicaCount"] = "2", ["existingSecret"] = "\"fastmcp-secrets\"" };
        GatewayOptions options = ConfigurationLoader.Load(WriteRendered(Render(twoReplicas)));
        Assert.Equal(["http://fastmcp-0.fastmcp-headless.default.svc:9090", "http://fastmcp-1.fastmcp-headless.default.svc:9090"], options.Approvals.Peers.Urls);
        Assert.Equal(1_000, options.Approvals.Peers.TimeoutMs);
        // Peers MAC under a key derived from the card fingerprint key: without it the gateway names the field.
        GatewayOptions withoutKey = ConfigurationLoader.Load(WriteRendered(WithoutPanKeyEnv(Render(twoReplicas))));
        var e = Assert.Throws<ConfigurationException>(() => Hosting.GatewayStages.CreateApprovalPeers(withoutKey));
        Assert.Equal("approvals.peers.urls", e.Field);

        Assert.Empty(ConfigurationLoader.Load(WriteRendered(Render(new Dictionary<string, string> { ["replicaCount"] = "1", ["existingSecret"] = "\"s\"" }))).Approvals.Peers.Urls);
        Assert.Empty(ConfigurationLoader.Load(WriteRendered(Render())).Approvals.Peers.Urls);
    }

    [Fact]
    public void The_admin_views_need_an_operator_by_default_and_a_metrics_token_secret_reaches_the_gateway_and_the_service_monitor()
    {
        string helpers = File.ReadAllText(Path.Combine(ChartDir, "templates", "_helpers.tpl"));
        Assert.Contains("{{- $_ := set $admin \"listen\" (printf \"0.0.0.0:%d\" (int .Values.service.adminPort)) -}}", helpers, StringComparison.Ordinal);
        Assert.Contains("{{- $_ := set $admin \"metricsTokenFile\" (printf \"/run/secrets/fastmcp-metrics/%s\" .Values.metricsToken.key) -}}", helpers, StringComparison.Ordinal);
        Assert.Contains(AdminInclude, File.ReadAllText(Path.Combine(ChartDir, "files", "fastmcp.json")), StringComparison.Ordinal);

        GatewayOptions defaults = ConfigurationLoader.Load(WriteRendered(Render()));
        Assert.Equal("0.0.0.0:9090", defaults.Admin.Listen);
        Assert.Equal(AdminOptions.OperatorsAccess, defaults.Admin.ToolsObservedAccess);
        Assert.Null(defaults.Admin.MetricsTokenFile);
        // The chart's defaults are the gateway's own, and an operator's values reach the configuration.
        Assert.Equal(AdminOptions.DefaultMaxConnections, defaults.Admin.MaxConnections);
        Assert.Equal(AdminOptions.DefaultRecordedRequestsPerMinute, defaults.Admin.RecordedRequestsPerMinute);
        Assert.Contains("\"maxConnections\": 64", Values()["gateway.admin"], StringComparison.Ordinal);
        Assert.Contains("\"recordedRequestsPerMinute\": 60", Values()["gateway.admin"], StringComparison.Ordinal);
        GatewayOptions tuned = ConfigurationLoader.Load(WriteRendered(Render(new Dictionary<string, string>
        {
            ["gateway.admin"] = """{"operatorGroups":[],"toolsObservedAccess":"operators","maxConnections":128,"recordedRequestsPerMinute":600}""",
        })));
        Assert.Equal(128, tuned.Admin.MaxConnections);
        Assert.Equal(600, tuned.Admin.RecordedRequestsPerMinute);

        var withToken = new Dictionary<string, string>
        {
            ["metricsToken.existingSecret"] = "\"fastmcp-metrics\"",
            ["gateway.admin"] = """{"operatorGroups":["platform-sre"],"toolsObservedAccess":"operators"}""",
        };
        GatewayOptions options = ConfigurationLoader.Load(WriteRendered(Render(withToken)));
        Assert.Equal("/run/secrets/fastmcp-metrics/metrics-token", options.Admin.MetricsTokenFile);
        Assert.Equal(["platform-sre"], options.Admin.OperatorGroups);
        // The same file is mounted for the gateway and the helm test Pod, and the ServiceMonitor sends the same key.
        Assert.Matches(@"- name: metrics-token\s+mountPath: /run/secrets/fastmcp-metrics\s+readOnly: true", helpers);
        Assert.Matches(@"- name: metrics-token\s+secret:\s+secretName: \{\{ \.Values\.metricsToken\.existingSecret \}\}", helpers);
        string monitor = File.ReadAllText(Path.Combine(ChartDir, "templates", "servicemonitor.yaml"));
        Assert.Matches(@"\{\{- if \.Values\.metricsToken\.existingSecret \}\}\s+authorization:\s+type: Bearer\s+credentials:\s+name: \{\{ \.Values\.metricsToken\.existingSecret \}\}\s+key: \{\{ \.Values\.metricsToken\.key \}\}", monitor);
    }
}
