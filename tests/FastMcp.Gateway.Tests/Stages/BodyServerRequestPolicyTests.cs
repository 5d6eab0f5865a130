using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The spec lets a server send its requests (sampling, elicitation, roots) only on event streams, but a client SDK
/// acts on any JSON-RPC message a JSON answer body holds (the TypeScript SDK dispatches each message of a JSON body,
/// requests included). So an upstream that answers a POST with its own request in a JSON body got it to the client
/// past policy.serverRequests. With a policy that can deny, such a body is now decided as a stream's request is: denied,
/// the client's call gets -32001, the upstream gets the gateway's answer, and the denial is recorded; a batch body
/// holding a request is withheld whole. Without the section nothing changes.
/// </summary>
public sealed class BodyServerRequestPolicyTests
{
    private const string Sampling = "{\"jsonrpc\":\"2.0\",\"id\":\"srv-9\",\"method\":\"sampling/createMessage\",\"params\":{\"messages\":[],\"maxTokens\":5}}";
    private const string Call = "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"summarize\",\"arguments\":{}}}";

    private static List<RuleOptions> AllowAllClientCalls => [new RuleOptions { Name = "everything", Action = "allow" }];

    private static Action<GatewayOptions> DenySampling =>
        o => o.Policy!.ServerRequests = new ServerRequestPolicyOptions
        {
            DefaultAction = "allow",
            Rules = [new RuleOptions { Name = "no-sampling", Action = "deny", Methods = ["sampling/*"] }],
        };

    /// <summary>Answers the tool call with <paramref name="body"/> as a JSON body; records the gateway's answer to the request.</summary>
    private static Func<UpstreamExchange, Task> Upstream(string body, TaskCompletionSource<UpstreamRequest> answered) => async x =>
    {
        if (!x.Request.Body.Contains("\"method\""))
        {
            await x.SendAsync("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
            answered.TrySetResult(x.Request);
            return;
        }
        await x.RespondJsonAsync(body);
    };

    [Fact]
    public async Task A_denied_request_in_a_json_body_never_reaches_the_client_and_the_upstream_gets_the_gateways_answer()
    {
        var answered = new TaskCompletionSource<UpstreamRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var gw = await PolicyGateway.StartAsync(Upstream(Sampling, answered), AllowAllClientCalls, DenySampling);

        RawResponse response = await gw.PostAsync(Call, gw.Token("alice"));

        Assert.DoesNotContain("sampling/createMessage", response.Body);
        using (JsonDocument body = JsonDocument.Parse(response.Body))
        {
            Assert.Equal(4, body.RootElement.GetProperty("id").GetInt32());
            Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
            Assert.Contains("no-sampling", body.RootElement.GetProperty("error").GetProperty("message").GetString());
        }
        UpstreamRequest answer = await answered.Task.WaitAsync(TimeSpan.FromSeconds(20));
        using (JsonDocument doc = JsonDocument.Parse(answer.BodyBytes))
        {
            Assert.Equal("\"srv-9\"", doc.RootElement.GetProperty("id").GetRawText());
            Assert.Equal(-32001, doc.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        }

        string[] records = await gw.StopAndReadAuditAsync();
        Assert.Contains(records, r => r.Contains("\"Denied\"") && r.Contains("sampling/createMessage") && r.Contains("no-sampling"));
    }

    [Theory]
    [InlineData("[" + Sampling + "]")]
    [InlineData("[{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}," + Sampling + "]")]
    public async Task A_batch_body_holding_a_request_is_withheld_whole(string body)
    {
        var answered = new TaskCompletionSource<UpstreamRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var gw = await PolicyGateway.StartAsync(Upstream(body, answered), AllowAllClientCalls, DenySampling);

        RawResponse response = await gw.PostAsync(Call, gw.Token("alice"));

        Assert.Equal(502, response.Status);
        Assert.DoesNotContain("sampling/createMessage", response.Body);
    }

    [Fact]
    public async Task An_allowed_request_in_a_json_body_and_any_body_without_the_section_pass_as_before()
    {
        var answered = new TaskCompletionSource<UpstreamRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (var allowed = await PolicyGateway.StartAsync(Upstream(Sampling.Replace("sampling/createMessage", "roots/list"), answered), AllowAllClientCalls, DenySampling))
        {
            RawResponse response = await allowed.PostAsync(Call, allowed.Token("alice"));
            Assert.Contains("roots/list", response.Body);
        }
        await using var none = await PolicyGateway.StartAsync(Upstream(Sampling, answered), AllowAllClientCalls);
        RawResponse unchanged = await none.PostAsync(Call, none.Token("alice"));
        Assert.Contains("sampling/createMessage", unchanged.Body);
        Assert.False(answered.Task.IsCompleted);
    }
}
