using System.Text;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// The steady path of a tokenExchange credential: a caller whose exchanged token is cached gets its line synchronously,
/// with nothing allocated (the line is precomputed in the cache entry), and a second caller does not get the first's.
/// </summary>
public sealed class TokenExchangeAllocationTests : IDisposable
{
    private readonly string _secretFile = Path.Combine(Path.GetTempPath(), "fastmcp-xchg-alloc-" + Guid.NewGuid().ToString("N"));

    private readonly string _devKeys = Path.Combine(Path.GetTempPath(), "fastmcp-xchg-alloc-dev-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        File.Delete(_secretFile);
        try { Directory.Delete(_devKeys, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task A_cached_callers_line_is_had_synchronously_without_allocating()
    {
        File.WriteAllText(_secretFile, "s3cret");
        await using var endpoint = new TokenEndpoint("gw", "s3cret").Start();
        using var key = DevKeys.LoadOrCreate(_devKeys);
        string alice = key.Mint("alice", [], [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));
        string bob = key.Mint("bob", [], [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));
        using var credential = new UpstreamCredential(new UpstreamCredentialOptions
        {
            TokenExchange = new TokenExchangeOptions { TokenUrl = endpoint.Url, ClientId = "gw", ClientSecretFile = _secretFile, TimeoutMs = 2_000 },
        });
        ReadOnlyMemory<byte> aliceHeader = Encoding.ASCII.GetBytes("Bearer " + alice), bobHeader = Encoding.ASCII.GetBytes("Bearer " + bob);

        UpstreamCredentialLine first = await credential.AcquireAsync(aliceHeader, CancellationToken.None);
        Assert.True(first.Ok);
        Assert.Equal("Authorization: Bearer ex-1\r\n", Encoding.ASCII.GetString(first.Line));
        UpstreamCredentialLine other = await credential.AcquireAsync(bobHeader, CancellationToken.None);
        Assert.Equal("Authorization: Bearer ex-2\r\n", Encoding.ASCII.GetString(other.Line));

        int hits = 0;
        for (int i = 0; i < 100; i++) Hit(credential, aliceHeader, first.Line, ref hits);
        long allocated = ThreadAllocations.Measure(() =>
        {
            hits = 0;
            for (int i = 0; i < 10_000; i++) Hit(credential, aliceHeader, first.Line, ref hits);
        });
        Assert.Equal(10_000, hits);
        Assert.Equal(0, allocated);
        Assert.Equal(2, endpoint.Issued);
    }

    [Fact]
    public async Task A_remembered_refusal_is_answered_synchronously_without_allocating_or_asking_again()
    {
        File.WriteAllText(_secretFile, "s3cret");
        await using var endpoint = new TokenEndpoint("gw", "s3cret").Start();
        using var key = DevKeys.LoadOrCreate(_devKeys);
        string mallory = key.Mint("mallory", [], [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));
        endpoint.RefusedSubjects[mallory] = true;
        using var credential = new UpstreamCredential(new UpstreamCredentialOptions
        {
            TokenExchange = new TokenExchangeOptions { TokenUrl = endpoint.Url, ClientId = "gw", ClientSecretFile = _secretFile, TimeoutMs = 2_000 },
        });
        ReadOnlyMemory<byte> header = Encoding.ASCII.GetBytes("Bearer " + mallory);

        UpstreamCredentialLine first = await credential.AcquireAsync(header, CancellationToken.None);
        Assert.Equal(UpstreamCredentialFailure.Refused, first.Failure);

        int refusals = 0;
        for (int i = 0; i < 100; i++) Refusal(credential, header, ref refusals);
        long allocated = ThreadAllocations.Measure(() =>
        {
            refusals = 0;
            for (int i = 0; i < 10_000; i++) Refusal(credential, header, ref refusals);
        });
        Assert.Equal(10_000, refusals);
        Assert.Equal(0, allocated);
        Assert.Single(endpoint.Requests);
        Assert.Equal(1 + 100 + 10_000, credential.ExchangeCounts.Refused);
    }

    private static void Refusal(UpstreamCredential credential, ReadOnlyMemory<byte> header, ref int refusals)
    {
        ValueTask<UpstreamCredentialLine> pending = credential.AcquireAsync(header, CancellationToken.None);
        Assert.True(pending.IsCompletedSuccessfully);
        if (pending.Result.Failure == UpstreamCredentialFailure.Refused && pending.Result.Line.Length == 0) refusals++;
    }

    private static void Hit(UpstreamCredential credential, ReadOnlyMemory<byte> header, byte[] expected, ref int hits)
    {
        ValueTask<UpstreamCredentialLine> pending = credential.AcquireAsync(header, CancellationToken.None);
        Assert.True(pending.IsCompletedSuccessfully);
        if (ReferenceEquals(pending.Result.Line, expected)) hits++;
    }
}
