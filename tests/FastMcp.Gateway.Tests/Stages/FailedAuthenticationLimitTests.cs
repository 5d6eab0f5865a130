using System.Text.RegularExpressions;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// An unauthenticated flood wrote one durable audit record per request (about 1 MB/s from one client). Past a
/// per-address budget of failures the address is answered 429 before its token is validated, and the refusals
/// are recorded in aggregate: every attempt is still accounted for, in a few records.
/// </summary>
public sealed class FailedAuthenticationLimitTests
{
    private const string Call = """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}""";

    [Fact]
    public async Task A_flood_of_bad_tokens_gets_429_past_the_budget_and_is_recorded_in_aggregate()
    {
        await using var gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[]}}"),
            [new RuleOptions { Name = "all", Action = "allow" }],
            o =>
            {
                o.FailedAuthentication.Burst = 3;
                o.FailedAuthentication.PerMinute = 1;
                o.FailedAuthentication.RecordIntervalSeconds = 1;
            });

        var statuses = new List<int>();
        string? retryAfter = null;
        for (int i = 0; i < 12; i++)
        {
            RawResponse r = await gw.PostAsync(Call, "not-a-token-" + i);
            statuses.Add(r.Status);
            if (r.Status == 429) retryAfter ??= r.Head.Get("Retry-After");
        }
        Assert.Equal([401, 401, 401], statuses.Take(3));
        Assert.All(statuses.Skip(3), s => Assert.Equal(429, s));
        Assert.NotNull(retryAfter);
        Assert.True(int.Parse(retryAfter!) >= 1);
        // Refused before anything else: even a valid token from that address waits for its budget to refill.
        Assert.Equal(429, (await gw.PostAsync(Call, gw.Token("alice", "sre"))).Status);
        Assert.Empty(gw.Upstream.Requests);

        string[] audit = await gw.StopAndReadAuditAsync();
        string[] failures = audit.Where(l => l.Contains("\"type\":\"AuthenticationFailed\"")).ToArray();
        long aggregated = failures.Select(l => Regex.Match(l, @"(\d+) authentication attempt\(s\) refused with 429")).Where(m => m.Success)
            .Sum(m => long.Parse(m.Groups[1].Value));
        Assert.Equal(3, failures.Count(l => !l.Contains("refused with 429")));
        Assert.Equal(10, aggregated); // 9 bad tokens and the valid one, all accounted for
        Assert.True(failures.Length <= 3 + 3, $"refusals were recorded one by one: {failures.Length} records");
    }

    [Fact]
    public async Task A_flood_from_ever_new_addresses_stays_within_the_table_and_every_attempt_is_still_accounted_for()
    {
        // Behind a trusted proxy every request can claim a new address; the limiter's memory must not follow them.
        await using var gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[]}}"),
            [new RuleOptions { Name = "all", Action = "allow" }],
            o =>
            {
                o.ClientAddress.TrustedProxies = ["127.0.0.1"];
                o.FailedAuthentication.Burst = 1;
                o.FailedAuthentication.PerMinute = 1;
                o.FailedAuthentication.MaxTrackedSources = 100;
                o.FailedAuthentication.RecordIntervalSeconds = 1;
            });

        const int addresses = 600;
        int unauthorized = 0, limited = 0;
        for (int a = 0; a < addresses; a++)
        {
            // Each new address: its first failure is recorded on its own, its second is over the budget.
            for (int attempt = 0; attempt < 2; attempt++)
            {
                RawResponse r = await gw.PostAsync(Call, "not-a-token", $"X-Forwarded-For: 198.51.{a / 256}.{a % 256}\r\n");
                if (r.Status == 401) unauthorized++;
                else if (r.Status == 429) limited++;
                else Assert.Fail($"unexpected status {r.Status}");
            }
        }
        Assert.Equal(addresses, unauthorized);
        Assert.Equal(addresses, limited);

        FastMcp.Gateway.Stages.FailedAuthenticationLimiter limiter = gw.Gateway.Host.Runtime.FailedAuthentication!;
        Assert.Equal(128, limiter.Capacity); // 100 rounded up to whole 4-way sets: the table never grows past it
        // The first address was forgotten long ago (the table holds 128 of 600): it starts over with a whole budget.
        Assert.Equal(401, (await gw.PostAsync(Call, "not-a-token", "X-Forwarded-For: 198.51.0.0\r\n")).Status);
        unauthorized++;

        string[] audit = await gw.StopAndReadAuditAsync();
        string[] failures = audit.Where(l => l.Contains("\"type\":\"AuthenticationFailed\"")).ToArray();
        long aggregated = failures.Select(l => Regex.Match(l, @"(\d+) authentication attempt\(s\) refused with 429")).Where(m => m.Success)
            .Sum(m => long.Parse(m.Groups[1].Value));
        Assert.Equal(unauthorized, failures.Count(l => !l.Contains("refused with 429")));
        Assert.Equal(limited, aggregated); // forgotten addresses' refusals included, in a record without an address
        Assert.Contains(failures, l => l.Contains("no longer tracked"));
    }
}
