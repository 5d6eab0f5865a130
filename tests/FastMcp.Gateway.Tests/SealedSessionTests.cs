using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// Replicas (and a restart) share no session table: with sessions.unknown "forward" a replica binds an id it did not see
/// issued to whoever names it first, so a leaked id is a takeover. Sealed ids (sessions.sealed) carry their caller: any
/// replica with the same card fingerprint key verifies them (docs/mcp-handling.md, "Sealed session ids"). Two gateway
/// instances with one configuration, one identity key and one card fingerprint key stand for two replicas.
/// </summary>
public sealed class SealedSessionTests : IDisposable
{
    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow" }];

    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    private static string Ping(int id) => "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"ping\"}";

    // What the replicas share: the identity provider's key (dev mode) and the card fingerprint key.
    private readonly ReplicaKeys _keys = new();


    public void Dispose() => _keys.Dispose();

    private string Token(string subject) => _keys.Token(subject);

    private Task<PolicyGateway> ReplicaAsync(bool sealedIds, string unknown = "refuse") =>
        PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(), AllowAll, o =>
        {
            _keys.Share(o);
            o.Sessions.Sealed = sealedIds;
            o.Sessions.Unknown = unknown;
            // Refusals summed over the whole test: the one drain at stop records them.
            o.Sessions.RecordIntervalSeconds = 3600;
        });

    private static Task<RawResponse> PostAsync(PolicyGateway gw, string token, string json, string? session = null) =>
        gw.PostAsync(json, token, session is null ? "" : $"Mcp-Session-Id: {session}\r\n");

    private static async Task<RawResponse> WithoutBodyAsync(PolicyGateway gw, string method, string token, string session)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync($"{method} /mcp HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\n\r\n");
        return await client.ReadResponseAsync();
    }

    private static int Naming(ScriptedUpstream upstream, string session) => upstream.Requests.Count(r => r.Header("Mcp-Session-Id") == session);

    private static async Task<long> RefusedUnknownAsync(PolicyGateway gw)
    {
        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        string line = metrics.Split('\n').Single(l => l.StartsWith("fastmcp_session_refusals_total{reason=\"unknown\"} ", StringComparison.Ordinal));
        return long.Parse(line[(line.LastIndexOf(' ') + 1)..]);
    }

    [Fact]
    public async Task The_client_gets_a_sealed_id_and_the_upstream_and_the_audit_record_get_the_upstreams_own()
    {
        string sealedId;
        string[] audit;
        await using (PolicyGateway gw = await ReplicaAsync(sealedIds: true))
        {
            string alice = Token("alice");
            sealedId = (await PostAsync(gw, alice, Initialize)).Header("Mcp-Session-Id")!;
            Assert.StartsWith("fms1.", sealedId);
            Assert.NotEqual("s-1", sealedId);
            Assert.All(sealedId, c => Assert.InRange(c, '!', '~'));

            Assert.Equal(200, (await PostAsync(gw, alice, Ping(2), sealedId)).Status);
            Assert.Equal(405, (await WithoutBodyAsync(gw, "GET", alice, sealedId)).Status);
            Assert.Equal(2, Naming(gw.Upstream, "s-1"));
            Assert.Equal(0, Naming(gw.Upstream, sealedId));
            audit = await gw.StopAndReadAuditAsync();
        }
        Assert.Contains(audit, l => l.Contains("\"session\":\"s-1\""));
        Assert.DoesNotContain(audit, l => l.Contains(sealedId));
    }

    [Fact]
    public async Task Unsealed_with_forward_another_caller_naming_a_leaked_id_on_a_replica_that_did_not_see_it_issued_takes_the_session_over()
    {
        // The hole sealing closes: replica B never saw s-1 issued, so it binds it to whoever names it first.
        await using PolicyGateway a = await ReplicaAsync(sealedIds: false, unknown: "forward");
        await using PolicyGateway b = await ReplicaAsync(sealedIds: false, unknown: "forward");
        string leaked = (await PostAsync(a, Token("alice"), Initialize)).Header("Mcp-Session-Id")!;
        Assert.Equal("s-1", leaked);

        Assert.Equal(200, (await PostAsync(b, Token("mallory"), Ping(2), leaked)).Status);
        Assert.Equal(1, Naming(b.Upstream, "s-1"));
    }

    [Fact]
    public async Task Sealed_another_replica_serves_the_caller_with_the_upstreams_id_and_refuses_anyone_else_even_with_forward()
    {
        await using PolicyGateway a = await ReplicaAsync(sealedIds: true, unknown: "forward");
        await using PolicyGateway b = await ReplicaAsync(sealedIds: true, unknown: "forward");
        string alice = Token("alice"), mallory = Token("mallory");
        string sealedId = (await PostAsync(a, alice, Initialize)).Header("Mcp-Session-Id")!;

        // Before alice shows up on b, and after: the sealed id is not mallory's, nor is the raw id behind it.
        Assert.Equal(404, (await PostAsync(b, mallory, Ping(2), sealedId)).Status);
        Assert.Equal(404, (await PostAsync(b, mallory, Ping(3), "s-1")).Status);
        Assert.Empty(b.Upstream.Requests);

        Assert.Equal(200, (await PostAsync(b, alice, Ping(4), sealedId)).Status);
        Assert.Equal(1, Naming(b.Upstream, "s-1"));

        Assert.Equal(404, (await PostAsync(b, mallory, Ping(5), sealedId)).Status);
        Assert.Equal(404, (await WithoutBodyAsync(b, "GET", mallory, sealedId)).Status);
        Assert.Equal(404, (await WithoutBodyAsync(b, "DELETE", mallory, sealedId)).Status);
        // An answer to a server request of alice's session goes nowhere either.
        Assert.Equal(404, (await PostAsync(b, mallory, """{"jsonrpc":"2.0","id":0,"result":{}}""", sealedId)).Status);
        Assert.Single(b.Upstream.Requests);
        // Counted as unknown sessions: an id that does not verify tells nothing of whose it is.
        Assert.Equal(6, await RefusedUnknownAsync(b));

        // The owner's GET and DELETE reach the upstream with its own id.
        Assert.Equal(405, (await WithoutBodyAsync(b, "GET", alice, sealedId)).Status);
        Assert.Equal(200, (await WithoutBodyAsync(b, "DELETE", alice, sealedId)).Status);
        Assert.Equal(1, b.Upstream.Requests.Count(r => r.Method == "DELETE" && r.Header("Mcp-Session-Id") == "s-1"));
        Assert.Equal(3, Naming(b.Upstream, "s-1"));
    }

    [Fact]
    public async Task Sealed_the_raw_upstream_id_and_forged_or_malformed_ids_are_refused_and_never_forwarded()
    {
        await using PolicyGateway gw = await ReplicaAsync(sealedIds: true);
        string alice = Token("alice");
        string sealedId = (await PostAsync(gw, alice, Initialize)).Header("Mcp-Session-Id")!;
        char flipped = sealedId[8] == 'A' ? 'B' : 'A';
        string forged = sealedId[..8] + flipped + sealedId[9..];
        string[] refused = [
            "s-1", forged, sealedId + "=", sealedId + "!", "fms1.", "fms1." + sealedId[5..15], "fms2." + sealedId[5..], sealedId.ToUpperInvariant(),
        ];
        foreach (string id in refused) Assert.Equal(404, (await PostAsync(gw, alice, Ping(2), id)).Status);
        Assert.Single(gw.Upstream.Requests);
        Assert.Equal(refused.Length, await RefusedUnknownAsync(gw));
        Assert.Equal(200, (await PostAsync(gw, alice, Ping(3), sealedId)).Status);
    }

    [Fact]
    public async Task A_restart_with_the_same_key_keeps_a_sealed_session_usable()
    {
        string sealedId;
        await using (PolicyGateway before = await ReplicaAsync(sealedIds: true))
        {
            sealedId = (await PostAsync(before, Token("alice"), Initialize)).Header("Mcp-Session-Id")!;
        }
        // Restarted in the same process on the same identity key (the stopped gateway disposed its own instance of it),
        // with new tokens: the session is the caller's (issuer and subject), not one token's.
        await using PolicyGateway after = await ReplicaAsync(sealedIds: true);
        string alice = Token("alice");
        string mallory = Token("mallory");
        Assert.Equal(200, (await PostAsync(after, alice, Ping(2), sealedId)).Status);
        Assert.Equal(1, Naming(after.Upstream, "s-1"));
        Assert.Equal(404, (await PostAsync(after, mallory, Ping(3), sealedId)).Status);
        Assert.Equal(1, Naming(after.Upstream, "s-1"));
    }

    [Fact]
    public async Task A_stdio_upstream_is_a_plain_route_its_bridge_gets_the_upstreams_id_and_the_client_a_sealed_one()
    {
        // Answers every request with an empty result (initialize with its own); the bridge owns the sessions.
        using var server = new StdioServerFolder("""
            require('readline').createInterface({ input: process.stdin }).on('line', line => {
              const request = JSON.parse(line);
              if (request.id === undefined) return;
              const result = request.method === 'initialize'
                ? { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'sealed-stdio', version: '1' } } : {};
              process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: request.id, result }) + '\n');
            });
            """);
        await using PolicyGateway gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o =>
        {
            _keys.Share(o);
            o.Sessions.Sealed = true;
            server.AddTo(o);
        });
        string alice = Token("alice");
        RawResponse opened = await gw.PostAsync(Initialize, alice, "", StdioServerFolder.Route);
        Assert.Equal(200, opened.Status);
        string sealedId = opened.Header("Mcp-Session-Id")!;
        Assert.StartsWith("fms1.", sealedId);

        // The bridge answers 404 for a session it does not know: 200 means it got its own id back.
        Assert.Equal(200, (await gw.PostAsync(Ping(2), alice, $"Mcp-Session-Id: {sealedId}\r\n", StdioServerFolder.Route)).Status);
        Assert.Equal(404, (await gw.PostAsync(Ping(3), Token("mallory"), $"Mcp-Session-Id: {sealedId}\r\n", StdioServerFolder.Route)).Status);
        // Sealed for the stdio upstream, it is not a session of the default route's upstream.
        Assert.Equal(404, (await gw.PostAsync(Ping(4), alice, $"Mcp-Session-Id: {sealedId}\r\n")).Status);
        Assert.Empty(gw.Upstream.Requests);
    }

    [Fact]
    public async Task Sealed_without_a_configured_card_fingerprint_key_refuses_to_start()
    {
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(), AllowAll, o =>
        {
            o.Sessions.Sealed = true;
            o.Masking.FingerprintKeyFile = null;
            o.Masking.FingerprintKeyEnv = "FASTMCP_TEST_UNSET_" + Guid.NewGuid().ToString("N");
        }));
        Assert.Equal("sessions.sealed", e.Field);
        Assert.Contains("restart", e.Message);
    }
}
