using System.Security.Cryptography;
using System.Text;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Pan;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace FastMcp.Audit.Tests;

/// <summary>
/// The bytes on disk for a fixed set of exchanges. The record bodies must be those the code of 9090736 wrote (their
/// SHA-256 below was taken from it), and every records frame must be exactly what the format prescribes, rebuilt here
/// without the writer's code: each record's chain hash from SHA-256 of the segment header, its compressed payload zstd
/// level 1 with the content checksum over u32 length, body and chain hash, back to back. A change that makes recording
/// cheaper must leave both as they are (docs/audit-format.md: independent verifiers are written from it).
/// </summary>
public sealed class RecordBytesIdentityTests : IDisposable
{
    private const string Pan = "4111111111111111";

    // SHA-256 over the bodies (u32 length, body) of the records WriteExchanges appends, as 9090736 wrote them.
    private const string BodiesSha256 = "9e7c215e2d3e42da6493806d1a943352b7a2746348e40a5ad79443ed1c25c6c0";

    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(AuditDurability.Strict)]
    [InlineData(AuditDurability.Batched)]
    public async Task Records_are_written_byte_for_byte_as_before_and_framed_as_the_format_says(AuditDurability durability)
    {
        var options = _dir.Options(durability: durability);
        await using (var log = await AuditLog.OpenAsync(options)) await WriteExchanges(log);

        string segment = Assert.Single(Directory.GetFiles(_dir.ChainDir(), "*.seg"));
        byte[] data = await File.ReadAllBytesAsync(segment);
        using var reader = new FrameReader();
        reader.Reset(data);
        Assert.Equal(FrameReadStatus.Ok, reader.Next(out Frame header, out _));
        Assert.Equal(FrameKind.Header, header.Header.Kind);
        byte[] chain = SHA256.HashData(header.Payload.Span);
        using var zstd = new Compressor(1);
        zstd.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        using var bodies = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int frames = 0, ours = 0;
        while (reader.Next(out Frame frame, out string? error) == FrameReadStatus.Ok)
        {
            Assert.Null(error);
            if (frame.Header.Kind != FrameKind.Records) continue;
            frames++;
            byte[] raw = frame.Payload.ToArray();
            var expected = new byte[Compressor.GetCompressBound(raw.Length)];
            int length = zstd.Wrap(raw, expected);
            Assert.Equal(expected.AsSpan(0, length).ToArray(), data.AsSpan((int)frame.Offset + FrameHeader.Size, frame.Header.StoredLength).ToArray());
            var it = new RecordIterator(raw);
            for (int i = 0; i < frame.Header.RecordCount; i++)
            {
                Assert.True(it.TryNext(out ReadOnlySpan<byte> body, out ReadOnlySpan<byte> stored, out _));
                byte[] leaf = SHA256.HashData([Rfc6962.LeafHashPrefix, .. body]);
                chain = SHA256.HashData([.. chain, .. leaf]);
                Assert.Equal(chain, stored.ToArray());
                if (RecordLayout.ReadType(body) is AuditEventType.McpExchange or AuditEventType.Denied)
                {
                    ours++;
                    // The fields are masked whoever filled them in (the payloads here carry none).
                    Assert.False(PanMasker.ContainsCardNumber(RecordLayout.ReadJson(body)), Encoding.UTF8.GetString(RecordLayout.ReadJson(body)));
                    bodies.AppendData(BitConverter.GetBytes(body.Length));
                    bodies.AppendData(body);
                }
            }
            Assert.True(it.AtEnd);
        }
        Assert.True(frames >= 2, $"{frames} records frames");
        Assert.Equal(Count, ours);
        string digest = Convert.ToHexStringLower(bodies.GetHashAndReset());
        Assert.True(digest == BodiesSha256, $"the record bodies' SHA-256 is {digest}");
    }

    private const int Count = 24;

    /// <summary>
    /// Twelve exchanges, each a request record and a response record from one refilled event as the gateway writes them
    /// (so the response copies the shared fields), some with card numbers in every field, some with a query, forwarded
    /// fields, a trace and a record the serializer must parse or keep as base64.
    /// </summary>
    private static async Task WriteExchanges(AuditLog log)
    {
        var e = new AuditEvent();
        for (int i = 0; i < Count / 2; i++)
        {
            SampleEvents.Fill(e, i, session: "sess-" + (i % 3), subject: i % 2 == 0 ? "alice" : "bob " + Pan, tool: i % 4 == 0 ? "charge_card" : "get_weather");
            if (i % 3 == 0)
            {
                e.TraceHigh = 0x0af7651916cd43dd + (ulong)i;
                e.TraceLow = 0x8448eb211c80319c;
                e.SpanId = 0x00f067aa0ba902b7;
            }
            if (i % 4 == 1)
            {
                e.Query = Encoding.ASCII.GetBytes("?card=411111******1111&page=" + i);
                e.Headers = "x-tenant: acme"u8.ToArray();
                e.Cookies = "theme=hmac:0123456789abcdef"u8.ToArray();
                e.ClientHop = "10.9.8.7";
                e.Target = "tool " + Pan;
                e.JsonRpcIdRaw = Encoding.UTF8.GetBytes("\"" + Pan + "\"");
            }
            if (i % 5 == 2) e.ClientCertificateSubject = "CN=agent " + Pan;
            e.Detail = i % 6 == 5 ? "request (approval by 4111 1111 1111 1111)" : "request";
            e.RequestPayloadIsJson = i % 2 == 0;
            var response = e.ResponsePayload;
            e.ResponsePayload = default;
            e.HttpStatus = 0;
            e.LatencyMicroseconds = 0;
            await log.AppendAsync(e);

            e.TimestampUtc = e.TimestampUtc.AddTicks(4_321);
            e.RequestPayload = default;
            e.RequestPayloadIsJson = false;
            e.ResponsePayload = i % 7 == 6 ? "not json \u0001 4111"u8.ToArray() : response;
            e.ResponsePayloadIsJson = i % 2 == 1;
            e.HttpStatus = 200;
            e.LatencyMicroseconds = 1234 + i;
            e.Detail = i % 6 == 5 ? "response; tools withheld: " + Pan : "response";
            await log.AppendAsync(e);
        }
    }
}
