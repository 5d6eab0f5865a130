using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FastMcp.Audit;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A graceful stop over real sockets: every held client gets its -32002 `cancelled` answer before its connection closes,
/// even when the stop gives in-flight exchanges no time at all (the answer to a cancelled hold is the gateway's own,
/// owed to the client, not an exchange in flight). Many gateways in a row, since the loss was a race with the close.
/// </summary>
public sealed class ApprovalStopAnswerTests : IAsyncLifetime
{
    private const int Gateways = 20;
    private readonly ReplicaKeys _keys = new();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-stopanswer-" + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private ScriptedUpstream _upstream = null!;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _http.Dispose();
        _keys.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private Task<GatewayUnderTest> StartAsync() => GatewayUnderTest.StartWithStagesAsync(_upstream.Url, o =>
    {
        o.Identity = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1/mcp" };
        _keys.Share(o);
        o.Policy = new PolicyOptions
        {
            Rules =
            [
                new RuleOptions { Name = "add-hold", Action = "require_approval", Methods = ["tools/call"], Names = ["add"], Approvers = ["release"] },
                new RuleOptions { Name = "rest", Action = "allow" },
            ],
        };
        o.Audit = new AuditOptions { Directory = Path.Combine(_dir, "audit"), ChainId = "stop" };
    });

    private async Task<JsonElement> HeldCallAsync(GatewayUnderTest gateway, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{gateway.Endpoint.Port}/mcp"))
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}""", Encoding.UTF8, "application/json"),
        };
        // JSON only: such a client gets no byte before the decision, so the stop's answer is all it gets.
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using HttpResponseMessage response = await _http.SendAsync(request);
        using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    private static async Task<PendingApproval> WaitForPendingAsync(GatewayUnderTest gateway)
    {
        ApprovalBroker broker = gateway.Host.Runtime.Approvals!;
        for (int i = 0; i < 400; i++)
        {
            List<PendingApproval> pending = broker.List(includeDecided: false);
            if (pending.Count > 0) return pending[0];
            await Task.Delay(10);
        }
        throw new Xunit.Sdk.XunitException("the held call never became a pending approval");
    }

    [Fact]
    public async Task Every_held_client_gets_its_cancelled_answer_when_the_gateway_stops_at_once()
    {
        string alice = _keys.Token("alice", "dev");
        var ids = new List<string>();
        for (int run = 0; run < Gateways; run++)
        {
            GatewayUnderTest gateway = await StartAsync();
            Task<JsonElement> held = HeldCallAsync(gateway, alice);
            PendingApproval approval = await WaitForPendingAsync(gateway);
            ids.Add(approval.Id);

            // Disposing stops with a zero deadline: no time for exchanges in flight, yet the held client is owed its answer.
            await gateway.DisposeAsync();
            JsonElement answer;
            try
            {
                answer = await held;
            }
            catch (HttpRequestException e)
            {
                throw new Xunit.Sdk.XunitException($"run {run}: the held client's connection closed without an answer ({e.Message})");
            }
            JsonElement error = answer.GetProperty("error");
            Assert.Equal(9, answer.GetProperty("id").GetInt32());
            Assert.Equal(-32002, error.GetProperty("code").GetInt32());
            Assert.Equal("cancelled", error.GetProperty("data").GetProperty("status").GetString());
            Assert.Equal(approval.Id, error.GetProperty("data").GetProperty("approvalId").GetString());
            Assert.Equal("the gateway is stopping", error.GetProperty("data").GetProperty("reason").GetString());
        }

        var output = new StringWriter();
        Assert.Equal(0, await ReplayCommand.RunAsync([Path.Combine(_dir, "audit"), "--format", "jsonl"], output, new StringWriter()));
        List<JsonElement> records = AuditRecordFields.Parse(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        foreach (string id in ids)
        {
            Assert.Single(records, r => AuditRecordFields.Field(r, "type") == "ApprovalExpired"
                && (AuditRecordFields.Field(r, "detail") ?? "").Contains($"approval {id} for alice: cancelled: the gateway is stopping", StringComparison.Ordinal));
        }
        Assert.Empty(_upstream.Requests);
    }

    [Fact]
    public async Task A_call_whose_approval_opens_after_the_stop_cancelled_the_pending_ones_is_refused_not_held()
    {
        await using GatewayUnderTest gateway = await StartAsync();
        ApprovalBroker broker = gateway.Host.Runtime.Approvals!;
        // The stop's cancellation ran after the hold checked for a stop and before its approval was published: the
        // approval must not be held, for no one would cancel it and its client would be closed unanswered.
        await broker.CancelAllAsync("the gateway is stopping");
        JsonElement answer = await HeldCallAsync(gateway, _keys.Token("alice", "dev")).WaitAsync(TimeSpan.FromSeconds(10));

        JsonElement error = answer.GetProperty("error");
        Assert.Equal(-32002, error.GetProperty("code").GetInt32());
        Assert.Contains("the gateway is stopping", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(broker.List(includeDecided: true));
        Assert.Empty(_upstream.Requests);
    }
}
