using System.Net;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Stages.CancellationScopeTests;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A cancellation never reaches the upstream before the call it cancels. The window is made wide and deterministic with a
/// real token endpoint that stalls: the upstream credential is a per-caller token exchange, so an approved held call (or a
/// call that was not held) waits, after its decision and its request record, for its token before a byte of it is written.
/// A cancellation from its caller meanwhile withdraws an approved held call (it is never forwarded, answered as a withdrawn
/// held call, recorded); one of a call that was not held waits until the call was written, then follows it.
/// </summary>
public sealed class CancellationBeforeForwardTests : IDisposable
{
    private const string ClientId = "fastmcp-gateway";
    private const string Secret = "s3cret-of-the-gateway";
    private readonly ClientSecretFolder _secrets = new();

    public void Dispose() => _secrets.Dispose();

    private static readonly List<RuleOptions> HeldPay =
    [
        new RuleOptions { Name = "pay-held", Action = "require_approval", Methods = ["tools/call"], Names = ["pay"], Approvers = ["finance"] },
        new RuleOptions { Name = "all", Action = "allow" },
    ];

    /// <summary>A gateway whose upstream credential is exchanged per caller at <paramref name="endpoint"/>, which stalls until the test lets it go.</summary>
    private Task<PolicyGateway> StartAsync(SlowServer server, TokenEndpoint endpoint) =>
        PolicyGateway.StartAsync(server.Script, HeldPay, o =>
        {
            o.Approvals.KeepAliveSeconds = 1;
            o.Identity!.UpstreamCredential = new UpstreamCredentialOptions
            {
                TokenExchange = new TokenExchangeOptions
                {
                    TokenUrl = endpoint.Url, ClientId = ClientId, ClientSecretFile = _secrets.Write(Secret), Audience = "payments-mcp", TimeoutMs = 20_000,
                },
            };
        });

    private static TokenEndpoint StalledEndpoint() => new TokenEndpoint(ClientId, Secret) { Stall = new(TaskCreationOptions.RunContinuationsAsynchronously) }.Start();

    /// <summary>Waits (bounded) until the token endpoint was asked: the call's forward is then waiting for its token, nothing of it written.</summary>
    private static async Task ExchangeAskedAsync(TokenEndpoint endpoint)
    {
        for (int i = 0; i < 400 && endpoint.Requests.IsEmpty; i++) await Task.Delay(25);
        Assert.False(endpoint.Requests.IsEmpty, "the call's forward never asked for its token");
    }

    private static string JsonOnlyPost(PolicyGateway gw, string json, string token) =>
        $"POST /mcp HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nContent-Type: application/json\r\nAccept: application/json\r\nAuthorization: Bearer {token}\r\n{Stateless}"
        + $"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_approved_call_not_yet_written_is_withdrawn_by_its_callers_cancellation_and_never_reaches_the_upstream(bool eventStream)
    {
        var server = new SlowServer();
        server.Release.SetResult();
        await using TokenEndpoint endpoint = StalledEndpoint();
        await using PolicyGateway gw = await StartAsync(server, endpoint);
        string alice = gw.Token("alice"), approver = gw.Token("bob", "finance");
        using RawClient held = await gw.Gateway.ConnectAsync();
        await held.SendAsync(eventStream ? gw.Gateway.Post(Call("3"), $"Authorization: Bearer {alice}\r\n{Stateless}") : JsonOnlyPost(gw, Call("3"), alice));
        PendingApproval approval = await WaitForPendingAsync(gw);
        Assert.Equal(HttpStatusCode.OK, (await AdminRequests.AdminAsync(gw, HttpMethod.Post, $"/approvals/{approval.Id}/approve", "{}", approver)).Status);
        await ExchangeAskedAsync(endpoint);

        // Approved, recorded, not written: the caller's cancellation withdraws it. (Before, it was forwarded on its own.)
        using RawClient cancel = await SendAsync(gw, Cancel("3"), alice);
        RawResponse cancelled = await cancel.ReadResponseAsync("the cancellation's answer");
        endpoint.Stall!.SetResult();
        RawResponse answer = await held.ReadResponseAsync("the withdrawn call's answer");

        Assert.Equal(202, cancelled.Status);
        Assert.Equal(ApprovalState.Cancelled, approval.State);
        Assert.Equal(200, answer.Status);
        if (eventStream)
        {
            // As a held call withdrawn before its approval: the stream ends without an answer to the cancelled request.
            Assert.Contains("text/event-stream", answer.Header("Content-Type"), StringComparison.Ordinal);
            Assert.DoesNotContain("data:", answer.Body, StringComparison.Ordinal);
        }
        else
        {
            JsonElement error = JsonDocument.Parse(answer.Body).RootElement.GetProperty("error");
            Assert.Equal(Mcp.JsonRpcErrorCodes.ApprovalRequired, error.GetProperty("code").GetInt32());
            Assert.Equal("cancelled", error.GetProperty("data").GetProperty("status").GetString());
            Assert.Contains("withdrawn by the caller (notifications/cancelled)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        // Neither the call nor the cancellation reached the upstream.
        Assert.Empty(gw.Upstream.Requests);

        List<JsonElement> records = AuditRecordFields.Parse(await gw.StopAndReadAuditAsync());
        Assert.Single(records, r => AuditRecordFields.Field(r, "type") == "ApprovalGranted");
        Assert.Single(records, r => AuditRecordFields.Field(r, "type") == "ApprovalExpired"
            && AuditRecordFields.Field(r, "detail")!.EndsWith("cancelled: withdrawn by the caller (notifications/cancelled)", StringComparison.Ordinal));
        JsonElement outcome = Assert.Single(records, r => AuditRecordFields.Field(r, "type") == "McpExchange" && AuditRecordFields.Method(r) == "tools/call"
            && AuditRecordFields.Field(r, "detail")!.StartsWith("withdrawn", StringComparison.Ordinal));
        Assert.Equal($"withdrawn by the caller (notifications/cancelled) after approval {approval.Id}, before it was written to the upstream: not forwarded",
            AuditRecordFields.Field(outcome, "detail"));
        Assert.False(outcome.GetProperty("success").GetBoolean());
        Assert.Single(records, r => AuditRecordFields.Field(r, "type") == "McpExchange" && AuditRecordFields.Method(r) == "notifications/cancelled");
        Assert.DoesNotContain(records, r => AuditRecordFields.Field(r, "type") == "Denied");
    }

    [Fact]
    public async Task A_cancellation_of_a_call_not_yet_written_is_forwarded_only_after_the_call()
    {
        var server = new SlowServer();
        await using TokenEndpoint endpoint = StalledEndpoint();
        await using PolicyGateway gw = await StartAsync(server, endpoint);
        string alice = gw.Token("alice");
        using RawClient call = await SendAsync(gw, Call("5", "balance"), alice);
        await ExchangeAskedAsync(endpoint);

        using RawClient cancel = await SendAsync(gw, Cancel("5"), alice);
        endpoint.Stall!.SetResult();
        await server.CallArrivedAsync();
        RawResponse cancelled = await cancel.ReadResponseAsync("the cancellation's answer");
        server.Release.SetResult();
        RawResponse answer = await call.ReadResponseAsync("the call's answer");

        Assert.Equal(202, cancelled.Status);
        Assert.Equal(200, answer.Status);
        UpstreamRequest[] arrived = [.. gw.Upstream.Requests];
        Assert.Equal(2, arrived.Length);
        Assert.Contains("\"tools/call\"", arrived[0].Body, StringComparison.Ordinal);
        Assert.Contains("notifications/cancelled", arrived[1].Body, StringComparison.Ordinal);
    }
}
