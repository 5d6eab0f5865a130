using System.Text.Json;
using FastMcp.Audit.Format;
using FastMcp.Audit.Verification;

namespace FastMcp.Audit.Tests;

/// <summary>Verifies a folder and returns every record (sequence, type, JSON) for assertions.</summary>
public static class LogReading
{
    public sealed record Rec(long Sequence, AuditEventType Type, string Json)
    {
        public string? Subject
        {
            get
            {
                using var d = JsonDocument.Parse(Json);
                return d.RootElement.TryGetProperty("user", out var u) && u.TryGetProperty("subject", out var s) ? s.GetString() : null;
            }
        }

        public string? Detail
        {
            get
            {
                using var d = JsonDocument.Parse(Json);
                return d.RootElement.TryGetProperty("detail", out var s) ? s.GetString() : null;
            }
        }
    }

    public static async Task<(VerificationReport Report, List<Rec> Records)> VerifyFolderAsync(TempAuditDirectory dir, string? root = null)
    {
        var records = new List<Rec>();
        using var key = dir.LoadPublicKey();
        var store = InMemorySegmentStore.FromDirectory(root ?? dir.Segments);
        var verifier = new LogVerifier(store, key)
        {
            OnRecord = (_, body) => records.Add(new Rec(RecordLayout.ReadSequence(body), RecordLayout.ReadType(body), System.Text.Encoding.UTF8.GetString(RecordLayout.ReadJson(body)))),
        };
        var report = await verifier.VerifyAsync("test", null);
        return (report, records);
    }
}
