using System.Text;
using FastMcp.Gateway.Clients;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Http;
using FastMcp.Identity;
using FastMcp.Testing;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The per-request authentication of a cached token without cnf, as the MCP endpoint makes it (request head, the
/// connection's client certificate, the sender-constrained check that such a token skips) completes synchronously and
/// allocates nothing, on a mutual-TLS connection as on a plain one.
/// </summary>
public sealed class CachedTokenAuthenticationAllocationTests
{
    [Fact]
    public async Task A_cached_plain_token_is_authenticated_without_allocating_with_or_without_a_client_certificate()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(UpstreamScripts.Echo, []);
        var head = new HttpRequestHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, head.Parse(Encoding.ASCII.GetBytes($"POST /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {g.Token("alice")}\r\n\r\n")));
        var authentication = g.Gateway.Stages.Authentication!;
        var certificate = new ClientCertificate("CN=alice", "00", new byte[32]);
        Assert.True((await authentication.AuthenticateAsync(head, certificate)).Succeeded);

        int succeeded = 0;
        void Authenticate(ClientCertificate? presented)
        {
            for (int i = 0; i < 10_000; i++)
            {
                ValueTask<AuthResult> pending = authentication.AuthenticateAsync(head, presented);
                if (pending.IsCompletedSuccessfully && pending.Result.Succeeded) succeeded++;
            }
        }
        Action withCertificate = () => Authenticate(certificate), without = () => Authenticate(null);
        withCertificate();
        Assert.Equal(0, ThreadAllocations.Measure(withCertificate));
        Assert.Equal(0, ThreadAllocations.Measure(without));
        Assert.True(succeeded >= 30_000, $"a cached check did not complete synchronously ({succeeded} of them did)");
    }
}
