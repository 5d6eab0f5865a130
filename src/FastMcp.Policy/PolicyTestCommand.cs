using System.Text;
using System.Text.Json;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Text;

namespace FastMcp.Policy;

/// <summary>
/// <c>fastmcp policy test --claims claims.json --request request.json [--upstream NAME] [--query QUERY] [--address ADDR] [--at INSTANT] [--server-request] [--expect allow|deny|require_approval]</c>:
/// prints the decision and the rule that made it, so authors can check rules before deploying them. With
/// <c>--server-request</c> the request is one an upstream sends the client (sampling, elicitation, roots), decided by
/// policy.serverRequests for the caller whose stream it would reach.
/// </summary>
public static class PolicyTestCommand
{
    public const string Usage =
        "usage: fastmcp policy test --claims <claims.json> --request <request.json> [--upstream <name>] [--query <query>] [--address <addr>] [--at <instant>] [--server-request] [--expect allow|deny|require_approval]\n" +
        "  claims.json:  the token's claims, e.g. {\"sub\":\"alice\",\"groups\":[\"sre\"],\"scope\":\"mcp:tools\"}\n" +
        "  request.json: a JSON-RPC request, e.g. {\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"x\",\"arguments\":{}}}\n" +
        "  --upstream:   the upstream the call goes to (rules with \"upstreams\" compare it); default \"default\", the upstream of \"upstream\"\n" +
        "  --query:      the request target's query the call is sent with, as on the wire (\"tenant=eu&x=1\" or \"?tenant=eu\"); rules with \"query\" read it\n" +
        "  --address:    the client address the call comes from (rules with \"addresses\" compare it); default 127.0.0.1\n" +
        "  --at:         the instant the call is made, ISO 8601 with a zone (\"2026-12-24T09:30:00+01:00\"); rules with \"time\" compare it; default now\n" +
        "  --server-request: the request is one the upstream sends the client (e.g. sampling/createMessage), decided by\n" +
        "                policy.serverRequests for the caller in claims.json; --upstream names the upstream that sent it\n" +
        "Exit code: 0 decided (and matched --expect), 1 --expect did not match, 2 usage or input error.\n";

    /// <summary>The name of the gateway's upstream configured by "upstream" + "endpointPath" (the route every gateway had before named upstreams).</summary>
    public const string DefaultUpstream = "default";

    public static int Run(PolicyOptions policy, string[] args, TextWriter stdout, TextWriter stderr) =>
        Run(policy, new ClaimMappingOptions(), args, stdout, stderr);

    /// <param name="mapping">The gateway's claim mapping, so the claims file is read the way real tokens are.</param>
    public static int Run(PolicyOptions policy, ClaimMappingOptions mapping, string[] args, TextWriter stdout, TextWriter stderr) =>
        Run(policy, mapping, PolicyEngine.DefaultSensitiveMembers, args, stdout, stderr);

    /// <param name="sensitiveMembers">The gateway's masking.sensitiveMembers, so containsSensitiveData decides as it does there.</param>
    public static int Run(PolicyOptions policy, ClaimMappingOptions mapping, FastMcp.Pan.SensitiveMemberNames sensitiveMembers, string[] args,
        TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? claimsPath = null, requestPath = null, expect = null, query = null, addressText = null, atText = null;
        string upstream = DefaultUpstream;
        bool serverRequest = false;
        int i = 0;
        while (i < args.Length && args[i] is "policy" or "test")
            i++;
        for (; i < args.Length; i++)
        {
            if (args[i] is "-h" or "--help")
            {
                stdout.Write(Usage);
                return 0;
            }
            if (args[i] == "--server-request")
            {
                serverRequest = true;
                continue;
            }
            if (i + 1 >= args.Length)
                return Fail(stderr, $"{args[i]}: missing value");
            switch (args[i])
            {
                case "--claims": claimsPath = args[++i]; break;
                case "--request": requestPath = args[++i]; break;
                case "--expect": expect = args[++i]; break;
                case "--upstream": upstream = args[++i]; break;
                case "--query": query = args[++i]; break;
                case "--address": addressText = args[++i]; break;
                case "--at": atText = args[++i]; break;
                default: return Fail(stderr, $"unknown option '{args[i]}'");
            }
        }
        if (claimsPath is null || requestPath is null)
            return Fail(stderr, "--claims and --request are required");
        if (query is not null && serverRequest)
            return Fail(stderr, "--query: a server's request has no query (it arrives on a stream, not in a request target)");
        if (query is not null && !CouldBeInRequestTarget(query))
            return Fail(stderr, "--query: the gateway takes only printable ASCII in a request target, without spaces or \" # < > \\ ^ ` { | }: percent-encode the rest (%20, %C3%A9)");
        System.Net.IPAddress address = System.Net.IPAddress.Loopback;
        if (addressText is not null)
        {
            if (!IpNetworks.TryParseAddress(addressText.Trim(), out System.Net.IPAddress? parsed))
                return Fail(stderr, $"--address: '{addressText}' is not an IPv4 or IPv6 address");
            // As the gateway records and decides it: an IPv4 client of a dual-stack socket is IPv4.
            address = IpNetworks.Normalize(parsed);
        }
        DateTimeOffset at = DateTimeOffset.UtcNow;
        if (atText is not null && !TimeCondition.TryParseInstant(atText, out at))
            return Fail(stderr, $"--at: '{atText}' is not an ISO 8601 instant with a zone (\"2026-12-24T09:30:00Z\", \"2026-12-24T09:30:00+01:00\")");
        PolicyAction? expected = null;
        if (expect is not null)
        {
            try { expected = PolicyCompiler.ParseAction(expect, null, "--expect"); }
            catch (PolicyException ex) { return Fail(stderr, ex.Message); }
        }

        PolicyEngine engine;
        try
        {
            engine = PolicyEngine.Compile(policy, TimeProvider.System, sensitiveMembers);
        }
        catch (PolicyException ex)
        {
            stderr.WriteLine(PrintableText.Escape($"fastmcp policy test: {ex.Message}"));
            return 2;
        }

        Principal principal;
        string method;
        byte[] name, arguments, requestBytes;
        string reading = claimsPath;
        try
        {
            using (var claims = JsonDocument.Parse(File.ReadAllBytes(claimsPath)))
            {
                principal = ClaimMapper.Map(claims.RootElement, mapping, DateTimeOffset.MaxValue, out string? error)
                    ?? throw new InvalidDataException($"{claimsPath}: {error}");
            }
            reading = requestPath;
            requestBytes = File.ReadAllBytes(requestPath);
            using var request = JsonDocument.Parse(requestBytes);
            (method, name, arguments) = ReadRequest(request.RootElement, requestPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            stderr.WriteLine(PrintableText.Escape($"fastmcp policy test: '{reading}': {FastMcp.Http.PlainError.Describe(ex, reading)}"));
            return 2;
        }
        catch (InvalidDataException ex)
        {
            // Ours, naming the file.
            stderr.WriteLine(PrintableText.Escape($"fastmcp policy test: {ex.Message}"));
            return 2;
        }

        // JsonDocument keeps every member; the gateway refuses a message whose member names repeat, exactly or apart
        // from letter case, before any policy runs (docs/mcp-handling.md). The test says so instead of deciding on one
        // of the readings.
        McpInspectError clash = McpInspector.FindClashingMemberNames(requestBytes);
        if (clash != McpInspectError.None)
        {
            stdout.WriteLine("decision: deny");
            stdout.WriteLine("rule: (refused-before-policy)");
            stdout.WriteLine(PrintableText.Escape($"message: {Encoding.UTF8.GetString(McpRejections.Message(clash))}"));
            if (expected is { } wanted && wanted != PolicyAction.Deny)
            {
                stderr.WriteLine(PrintableText.Escape($"fastmcp policy test: expected {ActionName(wanted)}, got deny (the gateway refuses this request before policy)"));
                return 1;
            }
            return 0;
        }

        if (serverRequest) return DecideServerRequest(engine, principal, requestBytes, upstream, at, expected, stdout, stderr);

        // Decided as the gateway decides it: resource URIs normalized (or refused), overlong names refused.
        byte[] queryBytes = query is null ? [] : Encoding.ASCII.GetBytes(query);
        PolicyDecision decision = McpCallDecision.Decide(engine, principal, Encoding.UTF8.GetBytes(method), name, arguments, upstream, queryBytes, address, at);
        stdout.WriteLine(PrintableText.Escape($"decision: {ActionName(decision.Action)}"));
        if (query is not null)
            stdout.WriteLine(PrintableText.Escape($"query: ?{Encoding.ASCII.GetString(QueryText.WithoutQuestionMark(queryBytes))}"));
        if (name.Length > 0 && McpCallDecision.TargetsByUri(Encoding.UTF8.GetBytes(method)))
            stdout.WriteLine(PrintableText.Escape($"resource: {NormalizedUri(name)}"));
        stdout.WriteLine(PrintableText.Escape(decision.Rule is { } rule ? $"rule: {rule.Name} (#{rule.Index + 1})" : "rule: (default)"));
        if (decision.Action != PolicyAction.Allow)
            stdout.WriteLine(PrintableText.Escape($"message: {decision.Message}"));
        if (decision.MaskProfile is { } profile)
            stdout.WriteLine(PrintableText.Escape($"mask-profile: {profile}"));
        if (decision.Action == PolicyAction.RequireApproval && decision.Rule is { } approvalRule)
        {
            string approvers = approvalRule.Approvers.Length > 0 ? string.Join(',', approvalRule.Approvers) : "(approvals.approverGroups)";
            string mode = approvalRule.ApprovalMode == ApprovalMode.Grant ? $"grant, window {approvalRule.GrantWindow.TotalSeconds:0}s" : "hold";
            stdout.WriteLine(PrintableText.Escape($"approval: {mode}; {approvalRule.RequiredApprovals} of [{approvers}] within {approvalRule.ApprovalTimeout.TotalSeconds:0}s"));
        }
        return Finish(decision, upstream, principal, address, at, expected, stdout, stderr);
    }

    /// <summary>A request an upstream sends the client, decided by policy.serverRequests on its method and params, as the relay decides it.</summary>
    private static int DecideServerRequest(PolicyEngine engine, Principal principal, byte[] requestBytes, string upstream, DateTimeOffset at, PolicyAction? expected,
        TextWriter stdout, TextWriter stderr)
    {
        using var request = JsonDocument.Parse(requestBytes);
        JsonElement root = request.RootElement;
        string method = root.GetProperty("method").GetString()!;
        byte[] parameters = root.TryGetProperty("params", out JsonElement p) ? Encoding.UTF8.GetBytes(p.GetRawText()) : [];
        PolicyDecision decision = engine.ServerRequests.Decide(principal, Encoding.UTF8.GetBytes(method), parameters, upstream, at);
        stdout.WriteLine(PrintableText.Escape($"decision: {ActionName(decision.Action)}"));
        stdout.WriteLine(PrintableText.Escape(decision.Rule is { } rule ? $"rule: {rule.Name} (#{rule.Index + 1} of policy.serverRequests)" : "rule: (policy.serverRequests.defaultAction)"));
        if (decision.Action != PolicyAction.Allow)
            stdout.WriteLine(PrintableText.Escape($"message to the upstream: {ServerRequestPolicy.DenialMessage(decision)}"));
        return Finish(decision, upstream, principal, null, at, expected, stdout, stderr);
    }

    /// <summary>What both kinds of request print last, and the exit code: 1 when --expect names another action.</summary>
    /// <param name="address">The client address decided on (null for a server's request, which has none).</param>
    /// <param name="at">The instant decided at: printed, defaults too, so a reader sees what the decision was made for.</param>
    private static int Finish(in PolicyDecision decision, string upstream, Principal principal, System.Net.IPAddress? address, DateTimeOffset at,
        PolicyAction? expected, TextWriter stdout, TextWriter stderr)
    {
        stdout.WriteLine(PrintableText.Escape($"upstream: {upstream}"));
        if (address is not null) stdout.WriteLine(PrintableText.Escape($"address: {address}"));
        stdout.WriteLine(PrintableText.Escape($"at: {at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)}"));
        stdout.WriteLine(PrintableText.Escape($"principal: {principal.Subject} groups=[{string.Join(',', principal.Groups)}] scopes=[{string.Join(' ', principal.Scopes)}] client={principal.ClientId ?? "-"}"));
        if (expected is { } want && want != decision.Action)
        {
            stderr.WriteLine(PrintableText.Escape($"fastmcp policy test: expected {ActionName(want)}, got {ActionName(decision.Action)}"));
            return 1;
        }
        return 0;
    }

    public static string ActionName(PolicyAction action) => action switch
    {
        PolicyAction.Allow => "allow",
        PolicyAction.Deny => "deny",
        _ => "require_approval",
    };

    /// <summary>Method, target (params.name for tools/call and prompts/get, params.uri for the resource methods, params.ref's name or uri for completion/complete, as the gateway reads them) and raw arguments.</summary>
    private static (string, byte[], byte[]) ReadRequest(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("method", out var m) || m.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{path}: not a JSON-RPC request with a method");
        byte[] name = [], arguments = [];
        if (root.TryGetProperty("params", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            byte[] methodUtf8 = Encoding.UTF8.GetBytes(m.GetString()!);
            if (McpCallDecision.TargetsByName(methodUtf8) && p.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String)
                name = Encoding.UTF8.GetBytes(n.GetString()!);
            else if (McpCallDecision.TargetsByUri(methodUtf8) && p.TryGetProperty("uri", out var u) && u.ValueKind == JsonValueKind.String)
                name = Encoding.UTF8.GetBytes(u.GetString()!);
            else if (McpCallDecision.TargetsByReference(methodUtf8) && p.TryGetProperty("ref", out var r) && r.ValueKind == JsonValueKind.Object
                && r.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String)
            {
                string member = t.GetString() switch { "ref/prompt" => "name", "ref/resource" => "uri", _ => "" };
                if (member.Length > 0 && r.TryGetProperty(member, out var target) && target.ValueKind == JsonValueKind.String)
                    name = Encoding.UTF8.GetBytes(target.GetString()!);
            }
            if (p.TryGetProperty("arguments", out var a))
                arguments = Encoding.UTF8.GetBytes(a.GetRawText());
        }
        return (m.GetString()!, name, arguments);
    }

    /// <summary>The URI as rules see it (RFC 3986 section 6), or a note that it has no single form.</summary>
    private static string NormalizedUri(byte[] uri)
    {
        var normalized = new byte[McpCallDecision.MaxNameBytes];
        return uri.Length <= McpCallDecision.MaxNameBytes && ResourceUriNormalizer.TryNormalize(uri, normalized, out int length)
            ? Encoding.UTF8.GetString(normalized, 0, length)
            : "(cannot be normalized: refused)";
    }

    /// <summary>What the gateway's HTTP parser lets through in a request target: anything else never reaches the policy.</summary>
    private static bool CouldBeInRequestTarget(string query)
    {
        foreach (char c in query)
            if (c <= ' ' || c >= '\u007f' || c is '#' or '"' or '<' or '>' or '\\' or '^' or '`' or '{' or '|' or '}')
                return false;
        return true;
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine(PrintableText.Escape($"fastmcp policy test: {message}"));
        stderr.Write(Usage);
        return 2;
    }
}
