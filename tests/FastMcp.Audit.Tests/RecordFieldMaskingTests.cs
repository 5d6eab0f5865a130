using System.Text;
using System.Text.Json;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Recording;
using FastMcp.Pan;

namespace FastMcp.Audit.Tests;

/// <summary>No record field carries a full card number, whoever filled it in and wherever it came from.</summary>
public sealed class RecordFieldMaskingTests
{
    private const string Pan = "4111111111111111";

    private static AuditEvent EventWithCardsEverywhere() => new()
    {
        Type = AuditEventType.McpExchange,
        TimestampUtc = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc),
        Subject = "user " + Pan,
        Groups = ["g" + " " + Pan],
        ClientId = Pan,
        ClientAddress = "10.0.0.7",
        McpClientName = "client " + Pan,
        McpClientVersion = Pan,
        Upstream = "http://u/" + Pan,
        UpstreamName = "n-" + Pan,
        Method = "tools/" + Pan,
        Target = Pan,
        SessionId = "s-" + Pan,
        JsonRpcIdRaw = Encoding.UTF8.GetBytes(Pan),
        Decision = "Allow",
        Rule = "rule " + Pan,
        Approver = Pan,
        Detail = "denied: card 4111 1111 1111 1111 by " + Pan,
        RequestPayload = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"ping"}"""),
    };

    [Fact]
    public void Every_field_is_masked_as_it_is_written_and_the_record_stays_valid_json()
    {
        var buffer = new GrowableBuffer(64);
        int n = new AuditRecordSerializer().Write(buffer, EventWithCardsEverywhere(), 9, 1);
        byte[] json = RecordLayout.ReadJson(buffer.WrittenSpan[..n].ToArray()).ToArray();
        Assert.False(PanMasker.ContainsCardNumber(json), Encoding.UTF8.GetString(json));
        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement r = document.RootElement;
        Assert.Equal("411111******1111", r.GetProperty("component").GetProperty("target").GetString());
        Assert.Equal("n-411111******1111", r.GetProperty("component").GetProperty("upstreamName").GetString());
        Assert.Equal("s-411111******1111", r.GetProperty("session").GetString());
        Assert.Equal("user 411111******1111", r.GetProperty("user").GetProperty("subject").GetString());
        Assert.Equal("4111110000001111", r.GetProperty("jsonrpcId").GetRawText());
        Assert.Equal("denied: card 4111 11** **** 1111 by 411111******1111", r.GetProperty("detail").GetString());
        Assert.Equal("ping", r.GetProperty("request").GetProperty("method").GetString());
        foreach (JsonProperty p in r.EnumerateObject())
            Assert.False(PanMasker.ContainsCardNumber(Encoding.UTF8.GetBytes(p.Value.ToString())), p.Name);
    }

    [Fact]
    public void The_hosts_masker_decides_how_many_digits_stay_visible()
    {
        var masker = new PanMasker(new PanMaskingOptions { KeepFirst = 0, KeepLast = 4, ComputeFingerprints = false });
        var buffer = new GrowableBuffer(64);
        int n = new AuditRecordSerializer(masker).Write(buffer, EventWithCardsEverywhere(), 9, 1);
        using JsonDocument document = JsonDocument.Parse(RecordLayout.ReadJson(buffer.WrittenSpan[..n].ToArray()).ToArray());
        Assert.Equal("************1111", document.RootElement.GetProperty("component").GetProperty("target").GetString());
    }

    [Fact]
    public void Masking_the_fields_allocates_nothing() =>
        Assert.Equal(0, SerializerAllocations.OfRepeatedWrites(new AuditRecordSerializer(), EventWithCardsEverywhere(), fresh: true));
}
