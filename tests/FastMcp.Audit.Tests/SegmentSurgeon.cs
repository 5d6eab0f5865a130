using System.Buffers.Binary;
using System.Security.Cryptography;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using ZstdSharp;

namespace FastMcp.Audit.Tests;

/// <summary>
/// Plays a capable attacker without the signing key: decodes a segment into frames and record bodies,
/// lets a test edit them, and re-encodes with every unsigned hash recomputed so only signatures and
/// links can give the edit away.
/// </summary>
public sealed class SegmentSurgeon
{
    public sealed class FrameModel
    {
        public FrameKind Kind;
        public byte[] Note = [];
        public List<byte[]> Bodies = new();
    }

    public List<FrameModel> Frames { get; } = new();

    public static SegmentSurgeon Parse(byte[] segment)
    {
        var s = new SegmentSurgeon();
        using var reader = new FrameReader();
        reader.Reset(segment);
        while (reader.Next(out var frame, out var error) == FrameReadStatus.Ok)
        {
            var m = new FrameModel { Kind = frame.Header.Kind };
            if (frame.Header.Kind == FrameKind.Records)
            {
                var it = new RecordIterator(frame.Payload.Span);
                for (int i = 0; i < frame.Header.RecordCount; i++)
                {
                    Assert.True(it.TryNext(out var body, out _, out error), error);
                    m.Bodies.Add(body.ToArray());
                }
            }
            else
            {
                m.Note = frame.Payload.ToArray();
            }
            s.Frames.Add(m);
        }
        return s;
    }

    public List<byte[]> AllBodies()
    {
        var all = new List<byte[]>();
        foreach (var f in Frames) all.AddRange(f.Bodies);
        return all;
    }

    public static void SetSequence(byte[] body, long seq) => BinaryPrimitives.WriteInt64LittleEndian(body, seq);

    /// <summary>
    /// Cuts an open segment file at the start of the records frame holding record <paramref name="sequence"/>, as someone
    /// making it look like a crash's torn tail would; false when no complete frame holds it.
    /// </summary>
    public static bool TruncateAtRecord(string openSegment, long sequence)
    {
        byte[] data = File.ReadAllBytes(openSegment);
        using var reader = new FrameReader();
        reader.Reset(data, zeroTailIsEnd: true);
        while (true)
        {
            int offset = reader.Position;
            if (reader.Next(out var frame, out _) != FrameReadStatus.Ok) return false;
            if (frame.Header.Kind != FrameKind.Records) continue;
            var it = new RecordIterator(frame.Payload.Span);
            while (it.TryNext(out var body, out _, out _))
            {
                if (RecordLayout.ReadSequence(body) != sequence) continue;
                using (var file = new FileStream(openSegment, FileMode.Open, FileAccess.Write)) file.SetLength(offset);
                return true;
            }
        }
    }

    /// <summary>Re-encodes; chain hashes recomputed from the header so they are self-consistent.</summary>
    public byte[] Encode()
    {
        using var zstd = new Compressor(1);
        var output = new MemoryStream();
        byte[] head = new byte[32];
        foreach (var f in Frames)
        {
            if (f.Kind == FrameKind.Header) head = SHA256.HashData(f.Note);
            if (f.Kind != FrameKind.Records)
            {
                var header = new byte[FrameHeader.Size];
                new FrameHeader(f.Kind, FrameCodec.None, f.Note.Length, f.Note.Length, 0).Write(header, f.Note);
                output.Write(header);
                output.Write(f.Note);
                continue;
            }
            var raw = new MemoryStream();
            var len = new byte[4];
            foreach (var body in f.Bodies)
            {
                head = SHA256.HashData([.. head, .. Rfc6962.LeafHash(body)]);
                BinaryPrimitives.WriteInt32LittleEndian(len, body.Length);
                raw.Write(len);
                raw.Write(body);
                raw.Write(head);
            }
            var rawBytes = raw.ToArray();
            var compressed = zstd.Wrap(rawBytes).ToArray();
            var fh = new byte[FrameHeader.Size];
            new FrameHeader(FrameKind.Records, FrameCodec.Zstd, compressed.Length, rawBytes.Length, f.Bodies.Count).Write(fh, compressed);
            output.Write(fh);
            output.Write(compressed);
        }
        return output.ToArray();
    }

    /// <summary>Replaces the seal with one recomputed over the edited records and signed by <paramref name="forger"/>.</summary>
    public void ForgeSeal(AuditSigner forger)
    {
        var sealFrame = Frames.Find(f => f.Kind == FrameKind.Seal)!;
        Assert.True(Seal.TryDecode(sealFrame.Note, out var seal, out _, out _));
        using var cursor = new ChainCursor();
        var header = Frames[0].Note;
        cursor.StartSegment(header, seal!.FirstSequence);
        byte[] chain = new byte[32];
        foreach (var b in AllBodies()) Assert.True(cursor.Append(b, chain, out var e), e);
        var forged = seal with
        {
            RecordCount = cursor.SegmentRecords,
            Head = cursor.Head.ToArray(),
            Root = cursor.Merkle.GetRoot(),
            KeyId = seal.KeyId,
        };
        var unsigned = forged.EncodeUnsigned();
        sealFrame.Note = AuditNote.AppendSignature(unsigned, forger.Sign(unsigned));
    }
}
