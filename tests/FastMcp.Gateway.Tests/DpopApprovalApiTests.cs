using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// Approvers calling the approvals API (admin listener) with DPoP-bound tokens, over real sockets: each request carries
/// its own proof for the admin listener's URL as the approver addressed it and for its own method; a replayed proof, one
/// made for the MCP endpoint, or the token sent as a bearer token is refused with the DPoP challenge, and decides nothing.
/// </summary>
public sealed class DpopApprovalApiTests : IAsyncLifetime
{
    private const string McpHtu = "http://127.0.0.1/mcp";
    private const string EchoCall = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"deploy"}}}""";

    private PolicyGateway _gw = null!;
    private BoundTokens _tokens = null!;
    private readonly DpopKey _approverKey = new();

    public async Task InitializeAsync()
    {
        _gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo,
        [
            new RuleOptions { Name = "echo-grant", Action = "require_approval", Methods = ["tools/call"], Names = ["echo"], Approvers = ["release"],
                ApprovalMode = "grant", GrantWindowSeconds = 3600 },
        ], o => o.Approvals.ApproverGroups = ["release"]);
        _tokens = new BoundTokens(_gw.DevKeyDirectory);
    }

    public async Task DisposeAsync()
    {
        _tokens.Dispose();
        _approverKey.Dispose();
        await _gw.DisposeAsync();
    }

    private string AdminUrl(string path) => $"http://127.0.0.1:{_gw.Gateway.AdminEndpoint.Port}{path}";

    private async Task<RawResponse> AdminAsync(string method, string path, string headerLines, string body = "")
    {
        using RawClient client = await RawClient.ConnectAsync(_gw.Gateway.AdminEndpoint);
        string content = body.Length == 0 ? "" : $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n";
        await client.SendAsync($"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{_gw.Gateway.AdminEndpoint.Port}\r\n{content}{headerLines}Connection: close\r\n\r\n{body}");
        return await client.ReadResponseAsync("the approvals API's answer");
    }

    private async Task<string> PendingIdAsync()
    {
        RawResponse refused = await _gw.PostAsync(EchoCall, _gw.Token("alice", "dev"));
        using JsonDocument doc = JsonDocument.Parse(refused.Body);
        return doc.RootElement.GetProperty("error").GetProperty("data").GetProperty("approvalId").GetString()!;
    }

    private static void AssertProofRefused(RawResponse response, string why)
    {
        Assert.Equal(401, response.Status);
        Assert.StartsWith("DPoP error=\"invalid_dpop_proof\"", response.Header("WWW-Authenticate"), StringComparison.Ordinal);
        Assert.Contains(why, response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approver_with_a_dpop_bound_token_lists_and_approves_with_a_fresh_proof_per_request()
    {
        string id = await PendingIdAsync();
        string token = _tokens.DpopBound("bob", _approverKey, "release");

        string listProof = _approverKey.Proof("GET", AdminUrl("/approvals"), token);
        RawResponse list = await AdminAsync("GET", "/approvals", $"Authorization: DPoP {token}\r\nDPoP: {listProof}\r\n");
        Assert.True(list.Status == 200, list.ToString());
        Assert.Contains(id, list.Body, StringComparison.Ordinal);

        // The same proof again, a proof for the MCP endpoint, one for another method: refused.
        AssertProofRefused(await AdminAsync("GET", "/approvals", $"Authorization: DPoP {token}\r\nDPoP: {listProof}\r\n"), "already used");
        AssertProofRefused(await AdminAsync("GET", "/approvals", $"Authorization: DPoP {token}\r\nDPoP: {_approverKey.Proof("GET", McpHtu, token)}\r\n"), "htu");
        string approvePath = $"/approvals/{id}/approve";
        AssertProofRefused(await AdminAsync("POST", approvePath, $"Authorization: DPoP {token}\r\nDPoP: {_approverKey.Proof("GET", AdminUrl(approvePath), token)}\r\n", "{}"), "htm");
        // Sent as a bearer token, it is no approver's token.
        RawResponse bearer = await AdminAsync("POST", approvePath, $"Authorization: Bearer {token}\r\n", "{}");
        Assert.Equal(401, bearer.Status);
        Assert.Equal(2, bearer.Head.GetAll("WWW-Authenticate").Length);
        Assert.Equal(-32002, (await _gw.PostAsync(EchoCall, _gw.Token("alice", "dev"))).JsonRpcError().Code); // still not approved

        RawResponse approved = await AdminAsync("POST", approvePath,
            $"Authorization: DPoP {token}\r\nDPoP: {_approverKey.Proof("POST", AdminUrl(approvePath), token)}\r\n", "{}");
        Assert.True(approved.Status == 200, approved.ToString());
        Assert.Contains("\"decidedBy\":\"bob\"", approved.Body, StringComparison.Ordinal);
        Assert.Equal(200, (await _gw.PostAsync(EchoCall, _gw.Token("alice", "dev"))).Status);
        Assert.Single(_gw.Upstream.Requests);
    }
}
