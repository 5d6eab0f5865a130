using System.Text.Json;
using System.Text.RegularExpressions;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// A request naming a session that is not the caller's (another caller's: a hijack attempt; one never seen issued: a
/// guess, or a client of another replica) is refused 404 and accounted for: counted in /metrics per reason and
/// recorded in aggregate, one Denied record per caller, upstream and reason per interval, never with the id in clear.
/// </summary>
public sealed class SessionRefusalAuditTests
{
    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow" }];

    // Long and recognisable, so that the test can tell it is absent from the refusal records.
    private const string IssuedId = "live-session-7f3a9c2e41d84b0f9e6a5c3b2d1e0f98";

    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    private static string Ping(int id) => "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"ping\"}";

    /// <summary>Issues <see cref="IssuedId"/> on initialize; answers anything else with an empty result.</summary>
    private static async Task SessionServer(UpstreamExchange x)
    {
        using JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes);
        string id = doc.RootElement.GetProperty("id").GetRawText();
        string session = doc.RootElement.GetProperty("method").GetString() == "initialize" ? $"Mcp-Session-Id: {IssuedId}\r\n" : "";
        await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{}}", session);
    }

    private static Task<PolicyGateway> StartAsync() =>
        // Refusals summed over the whole test: the one drain at stop writes them (no clock in the assertions).
        PolicyGateway.StartAsync(SessionServer, AllowAll, o => o.Sessions.RecordIntervalSeconds = 3600);

    private static Task<RawResponse> PostAsync(PolicyGateway gw, string token, string json, string? session = null) =>
        gw.PostAsync(json, token, session is null ? "" : $"Mcp-Session-Id: {session}\r\n");

    private static string[] SessionRefusals(string[] audit, string reason) =>
        [.. audit.Where(l => l.Contains("\"type\":\"Denied\"") && l.Contains(reason))];

    private static long Refused(string record) => long.Parse(Regex.Match(record, @"(\d+) request\(s\) naming").Groups[1].Value);

    private static JsonElement Root(string record) => JsonDocument.Parse(record).RootElement;

    [Fact]
    public async Task Naming_another_callers_session_is_counted_and_recorded_with_who_tried_and_whose_it_was_but_not_the_id()
    {
        await using PolicyGateway gw = await StartAsync();
        Assert.Equal(IssuedId, (await PostAsync(gw, gw.Token("alice"), Initialize)).Header("Mcp-Session-Id"));

        Assert.Equal(404, (await PostAsync(gw, gw.Token("mallory"), Ping(2), IssuedId)).Status);
        Assert.Equal(404, (await PostAsync(gw, gw.Token("mallory"), Ping(3), "guessed-0001")).Status);

        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_session_refusals_total{reason=\"foreign\"} 1\n", metrics);
        Assert.Contains("fastmcp_session_refusals_total{reason=\"unknown\"} 1\n", metrics);

        string[] audit = await gw.StopAndReadAuditAsync();
        string foreign = Assert.Single(SessionRefusals(audit, "issued to another caller"));
        JsonElement record = Root(foreign);
        Assert.Equal("mallory", record.GetProperty("user").GetProperty("subject").GetString());
        Assert.Equal(404, record.GetProperty("httpStatus").GetInt32());
        Assert.Equal("default", record.GetProperty("component").GetProperty("upstreamName").GetString());
        Assert.Equal("127.0.0.1", record.GetProperty("origin").GetProperty("address").GetString());
        string detail = record.GetProperty("detail").GetString()!;
        Assert.Equal(1, Refused(foreign));
        Assert.Contains("(alice)", detail);
        Assert.Matches("session id fingerprint [0-9a-f]{16}", detail);
        // The id is a bearer for the session: a refusal record never carries it, in any field.
        Assert.DoesNotContain(IssuedId, foreign);
        Assert.DoesNotContain("live-session", foreign);

        string unknown = Assert.Single(SessionRefusals(audit, "not issued to anyone"));
        Assert.Equal("mallory", Root(unknown).GetProperty("user").GetProperty("subject").GetString());
        Assert.Equal(1, Refused(unknown));
        Assert.DoesNotContain("guessed-0001", unknown);
    }

    [Fact]
    public async Task A_flood_of_refusals_is_one_record_per_caller_and_reason_with_the_count()
    {
        const int Flood = 60;
        await using PolicyGateway gw = await StartAsync();
        Assert.Equal(IssuedId, (await PostAsync(gw, gw.Token("alice"), Initialize)).Header("Mcp-Session-Id"));
        string mallory = gw.Token("mallory"), eve = gw.Token("eve");

        // Each on a connection of its own: a refused request's body is not read, so its connection is closed.
        for (int i = 0; i < Flood; i++) Assert.Equal(404, (await PostAsync(gw, mallory, Ping(10 + i), IssuedId)).Status);
        // Guessing: every id another; one record still, saying the ids differed.
        for (int i = 0; i < 5; i++) Assert.Equal(404, (await PostAsync(gw, eve, Ping(100 + i), $"guess-{i}")).Status);
        Assert.Single(gw.Upstream.Requests);

        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains($"fastmcp_session_refusals_total{{reason=\"foreign\"}} {Flood}\n", metrics);
        Assert.Contains("fastmcp_session_refusals_total{reason=\"unknown\"} 5\n", metrics);

        string[] audit = await gw.StopAndReadAuditAsync();
        string foreign = Assert.Single(SessionRefusals(audit, "issued to another caller"));
        Assert.Equal(Flood, Refused(foreign));
        Assert.Contains("all naming one session id", foreign);
        string guesses = Assert.Single(SessionRefusals(audit, "not issued to anyone"));
        Assert.Equal("eve", Root(guesses).GetProperty("user").GetProperty("subject").GetString());
        Assert.Equal(5, Refused(guesses));
        Assert.Contains("several session ids", guesses);
        // Nothing else was recorded for them: no per-request records of refused requests.
        Assert.DoesNotContain(audit, l => l.Contains("\"subject\":\"mallory\"") && !l.Contains("\"type\":\"Denied\""));
    }

    [Fact]
    public async Task Naming_another_callers_federated_session_is_counted_and_recorded_too()
    {
        await using var member = new ScriptedUpstream(async x =>
        {
            using JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes);
            if (!doc.RootElement.TryGetProperty("id", out JsonElement id))
            {
                await x.RespondAsync(202, "", "");
                return;
            }
            string result = doc.RootElement.GetProperty("method").GetString() == "initialize"
                ? "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"m\",\"version\":\"1\"}}" : "{}";
            await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":" + result + "}");
        });
        await using PolicyGateway gw = await PolicyGateway.StartAsync(SessionServer, AllowAll, o =>
        {
            o.Sessions.RecordIntervalSeconds = 3600;
            o.Upstreams["a"] = new Configuration.UpstreamOptions { Url = member.Url, ConnectTimeoutMs = 1_000 };
            o.Upstreams["b"] = new Configuration.UpstreamOptions { Url = member.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new Configuration.RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
        });
        RawResponse opened = await gw.PostAsync(Initialize, gw.Token("alice"), "", "/mcp/all");
        Assert.Equal(200, opened.Status);
        string session = opened.Header("Mcp-Session-Id")!;

        Assert.Equal(404, (await gw.PostAsync(Ping(2), gw.Token("mallory"), $"Mcp-Session-Id: {session}\r\n", "/mcp/all")).Status);
        Assert.Equal(404, (await gw.PostAsync(Ping(3), gw.Token("mallory"), "Mcp-Session-Id: guessed-0001\r\n", "/mcp/all")).Status);

        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_session_refusals_total{reason=\"foreign\"} 1\n", metrics);
        Assert.Contains("fastmcp_session_refusals_total{reason=\"unknown\"} 1\n", metrics);

        string[] audit = await gw.StopAndReadAuditAsync();
        JsonElement foreign = Root(Assert.Single(SessionRefusals(audit, "issued to another caller")));
        Assert.Equal("mallory", foreign.GetProperty("user").GetProperty("subject").GetString());
        Assert.Equal("federation:/mcp/all", foreign.GetProperty("component").GetProperty("upstream").GetString());
        Assert.False(foreign.GetProperty("component").TryGetProperty("upstreamName", out _));
        Assert.Contains("(alice)", foreign.GetProperty("detail").GetString()!);
        Assert.DoesNotContain(session, foreign.GetRawText(), StringComparison.Ordinal);
        Assert.Single(SessionRefusals(audit, "not issued to anyone here"));
    }
}
