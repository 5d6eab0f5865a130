using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FastMcp.Identity.Tests.Support;

namespace FastMcp.Identity.Tests;

public sealed class DocumentedConfigurationTests
{
    [Fact]
    public void Documented_identity_section_binds_and_validates()
    {
        string doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "identity.md"));
        int start = doc.IndexOf("```json", StringComparison.Ordinal) + "```json".Length;
        int end = doc.IndexOf("```", start, StringComparison.Ordinal);
        using var json = JsonDocument.Parse("{" + doc[start..end] + "}");
        var options = json.RootElement.GetProperty("identity").Deserialize<IdentityOptions>(new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        })!;
        options.Validate();
        Assert.Equal(2, options.Issuers.Count);
        Assert.Equal("realm_access.roles", options.ClaimMapping.GroupsClaim);
        Assert.Equal("/var/run/secrets/upstream/token", options.UpstreamCredential.ValueFile);
        Assert.Equal(["RS256", "ES256"], options.AllowedAlgorithms);
    }

    [Fact]
    public async Task Concurrent_first_use_of_a_token_is_consistent_and_cached_once()
    {
        await using var f = await ValidatorFixture.CreateAsync();
        byte[] header = Encoding.ASCII.GetBytes("Bearer " + f.Keys.SignEs256(TestKeys.Claims(f.Clock.GetUtcNow(), sub: "parallel")));
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () => await f.Validator.ValidateAsync(header))));
        Assert.All(results, r => Assert.Equal("parallel", r.Principal!.Subject));
        Assert.Equal(1, f.Validator.CachedTokenCount);
    }
}
