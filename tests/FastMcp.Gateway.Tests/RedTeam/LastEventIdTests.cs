using FastMcp.Gateway.Tests.Stages;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Pan;

namespace FastMcp.Gateway.Tests.RedTeam;

/// <summary>
/// A caller resuming a session's event stream names the event it resumes from. Whatever it puts there (a card number,
/// control characters, the field twice, a huge value), the upstream and the audit log get no card number in clear and
/// no value the upstream could read differently from the gateway.
/// </summary>
public sealed class LastEventIdTests
{
    private const string Pan = "4111111111111111";

    [Theory]
    [InlineData("card number", $"Last-Event-ID: {Pan}\r\n")]
    [InlineData("field twice", $"Last-Event-ID: 1\r\nLast-Event-ID: {Pan}\r\n")]
    [InlineData("control characters", "Last-Event-ID: 1\u0001\u001b[2J\u007f\r\n")]
    [InlineData("oversized", "Last-Event-ID: 4111111111111111 {0}\r\n")]
    public async Task A_resumption_id_reaches_neither_the_upstream_nor_the_log_with_a_card_number_or_two_readings(string shape, string field)
    {
        await using CardGateway g = await CardGateway.StartWithSessionAsync();
        string header = shape == "oversized" ? field.Replace("{0}", new string('7', 64 * 1024), StringComparison.Ordinal) : field;
        RawResponse answer = await g.SendInSessionAsync("GET", extraHeaders: header);

        UpstreamRequest[] gets = [.. g.Upstream.Requests.Where(r => r.Method == "GET")];
        if (answer.Status == 200)
        {
            UpstreamRequest get = Assert.Single(gets);
            Assert.DoesNotContain(Pan, get.Head.Raw, StringComparison.Ordinal);
            string[] ids = [.. get.Head.Raw.Split("\r\n").Where(l => l.StartsWith("Last-Event-ID", StringComparison.OrdinalIgnoreCase))];
            Assert.True(ids.Length <= 1, get.Head.Raw);
            Assert.DoesNotContain(ids, l => l.Any(c => c < 0x20 || c == 0x7f));
        }
        else
        {
            Assert.Empty(gets);
            Assert.InRange(answer.Status, 400, 431);
        }
        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Empty(AuditCards.FindCardNumbers(records));
    }
}
