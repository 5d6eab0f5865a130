using System.Text.Json;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Shipping;
using FastMcp.Audit.Verification;

namespace FastMcp.Audit.Replay;

/// <summary>
/// Collects the records matching a filter from every chain in a store, ordered by time (then chain and
/// sequence). With a public key it verifies the log while reading; without one it only reads.
/// </summary>
public static class TimelineReader
{
    public static async Task<(List<ReplayEntry> Entries, VerificationReport? Report)> ReadAsync(
        ISegmentStore store, string location, AuditPublicKey? key, ReplayFilter filter, string? chain, CancellationToken ct = default)
    {
        var entries = new List<ReplayEntry>();
        string currentChain = "";
        void Visit(long segment, ReadOnlySpan<byte> body)
        {
            long time = RecordLayout.ReadTimeMicros(body);
            if (filter.SinceMicros is { } s && time < s) return;
            if (filter.UntilMicros is { } u && time >= u) return;
            var json = RecordLayout.ReadJson(body);
            long sequence = RecordLayout.ReadSequence(body);
            JsonDocument doc;
            try
            {
                var reader = new Utf8JsonReader(json);
                doc = JsonDocument.ParseValue(ref reader);
            }
            catch (JsonException)
            {
                // A body that is not JSON was not written by the gateway; show it (base64) rather than stop the replay.
                if (filter.Matches(time, default)) entries.Add(new ReplayEntry(currentChain, segment, sequence, time, MalformedJson(sequence, time, body)));
                return;
            }
            using (doc)
            {
                if (filter.Matches(time, doc.RootElement)) entries.Add(new ReplayEntry(currentChain, segment, sequence, time, json.ToArray()));
            }
        }

        VerificationReport? report = null;
        if (key is not null)
        {
            // Verification walks every chain; the visitor learns the chain from the segment keys it is given.
            var files = await ChainFiles.DiscoverAsync(store, ct).ConfigureAwait(false);
            report = new VerificationReport { Location = location };
            foreach (var f in files)
            {
                if (chain is not null && f.Chain != chain) continue;
                currentChain = f.Chain;
                var single = new FilteredStore(store, f.Prefix);
                var verifier = new LogVerifier(single, key) { OnRecord = Visit };
                var r = await verifier.VerifyAsync(location, null, ct).ConfigureAwait(false);
                foreach (var c in r.Chains) { if (c.Chain.Length == 0) c.Chain = f.Chain; report.Chains.Add(c); }
                report.Errors.AddRange(r.Errors);
            }
            MarkVerification(entries, report);
        }
        else
        {
            using var frames = new FrameReader();
            foreach (var f in await ChainFiles.DiscoverAsync(store, ct).ConfigureAwait(false))
            {
                if (chain is not null && f.Chain != chain) continue;
                currentChain = f.Chain;
                foreach (var (index, objectKey) in f.Segments)
                {
                    var data = await store.GetAsync(objectKey, ct).ConfigureAwait(false);
                    if (data is null) continue;
                    frames.Reset(data);
                    while (frames.Next(out var frame, out _) == FrameReadStatus.Ok)
                    {
                        if (frame.Header.Kind != FrameKind.Records) continue;
                        var it = new RecordIterator(frame.Payload.Span);
                        for (int i = 0; i < frame.Header.RecordCount && it.TryNext(out var body, out _, out _); i++) Visit(index, body);
                    }
                }
            }
        }
        entries.Sort((a, b) => a.TimeMicros != b.TimeMicros ? a.TimeMicros.CompareTo(b.TimeMicros)
            : string.CompareOrdinal(a.Chain, b.Chain) != 0 ? string.CompareOrdinal(a.Chain, b.Chain) : a.Sequence.CompareTo(b.Sequence));
        return (entries, report);
    }

    private static byte[] MalformedJson(long sequence, long time, ReadOnlySpan<byte> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("seq", sequence);
            w.WriteString("time", NoteValues.Time(time));
            w.WriteString("type", "MalformedRecord");
            w.WriteString("detail", "the record body is not valid JSON");
            w.WriteBase64String("bodyBase64", body);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// A record counts as verified only if its segment was walked without error and no finding names
    /// that segment (a contradicted checkpoint, for one) or the store as a whole.
    /// </summary>
    private static void MarkVerification(List<ReplayEntry> entries, VerificationReport report)
    {
        foreach (var e in entries)
        {
            var chain = report.Chains.Find(c => c.Chain == e.Chain);
            bool ok = report.Errors.Count == 0 && chain is not null && chain.VerifiedSegments.Contains(e.Segment);
            if (ok)
            {
                foreach (var f in chain!.Errors)
                {
                    if (f.Segment is null || f.Segment == e.Segment) { ok = false; break; }
                }
            }
            e.Verified = ok;
        }
    }

    /// <summary>A view of one chain's keys, with the chain prefix kept so the verifier still sees the chain folder.</summary>
    private sealed class FilteredStore(ISegmentStore inner, string prefix) : ISegmentStore
    {
        public string Describe(string key) => inner.Describe(key);
        public Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, byte[] sha256, CancellationToken ct) => throw new NotSupportedException("read-only view");
        public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct) => throw new NotSupportedException("read-only view");
        public Task<byte[]?> GetSha256Async(string key, CancellationToken ct) => inner.GetSha256Async(key, ct);
        public Task<byte[]?> GetAsync(string key, CancellationToken ct) => inner.GetAsync(key, ct);
        public async Task<IReadOnlyList<string>> ListAsync(string p, CancellationToken ct)
        {
            var all = await inner.ListAsync(p, ct).ConfigureAwait(false);
            var result = new List<string>();
            foreach (var k in all)
            {
                if (!k.StartsWith(prefix, StringComparison.Ordinal)) continue;
                if (prefix.Length == 0 && k.Contains('/')) continue;
                result.Add(k);
            }
            return result;
        }
        public void Dispose() { }
    }
}
