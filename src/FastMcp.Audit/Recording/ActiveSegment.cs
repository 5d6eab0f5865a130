using System.Buffers.Binary;
using System.Security.Cryptography;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Storage;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace FastMcp.Audit.Recording;

/// <summary>
/// The one segment file being appended to: frames records (hash-chained, zstd with content checksum),
/// checkpoints and the seal. Chain state only advances after a frame is fully appended, so a failed
/// write can be undone by truncating to <see cref="CommittedLength"/>.
/// </summary>
internal sealed class ActiveSegment : IDisposable
{
    private readonly IAuditFileSystem _fs;
    private readonly string _directory;
    private readonly AuditSigner _signer;
    private readonly Compressor _zstd;
    private readonly GrowableBuffer _frame = new(256 * 1024);
    private readonly byte[] _headerHash;
    private ChainCursor _cursor = new();
    private ChainCursor _scratch = new();
    private IAuditFile? _file;
    private long _reserveLimit;
    // Set when an append or flush threw. A short write (ENOSPC) leaves the bytes that landed past CommittedLength
    // while the handle's Length does not move, so Length alone cannot tell that the file must be cut.
    private bool _uncommittedTail;
    // Created by Create(durable: false): its first reserve step, header and the frames after them are written without a
    // flush, and its name is not durable, until the first flushed append makes all of them durable (one fdatasync, then
    // one folder sync).
    private bool _firstFlushPending;

    /// <summary>Zero-filled space kept ahead of the appended end, in steps of this much (up to the segment size).</summary>
    public const long ReserveStep = 4 * 1024 * 1024;

    /// <summary>
    /// The first step, taken with the header frame: a new segment is made before the gateway accepts (and at each
    /// rotation, on the writer's thread), and writing and flushing a whole step of zeros there cost more than the rest
    /// of the audit log's start. Later steps are <see cref="ReserveStep"/>, taken when the records reach the reserve.
    /// </summary>
    public const long FirstReserveStep = 256 * 1024;

    /// <summary>Stopwatch ticks the last durable append took, its write and flush (the fsync latency metric).</summary>
    public long LastFlushTicks { get; private set; }

    public long Index { get; }
    public SegmentHeader Header { get; }
    public long CommittedLength { get; private set; }
    public DateTime CreatedUtc { get; }
    public long NextSequence => _cursor.NextSequence;
    public long RecordCount => _cursor.SegmentRecords;
    public bool Sealed { get; private set; }

    /// <summary>The seal note once <see cref="SealAndRename"/> appended it (so a rotation cut short can be finished).</summary>
    public byte[]? SealNote { get; private set; }
    public string OpenPath => Path.Combine(_directory, SegmentNames.Open(Index));
    public string SealedPath => Path.Combine(_directory, SegmentNames.Sealed(Index));

    private ActiveSegment(IAuditFileSystem fs, string directory, AuditSigner signer, int level, SegmentHeader header, byte[] headerNote)
    {
        _fs = fs;
        _directory = directory;
        _signer = signer;
        _zstd = new Compressor(level);
        _zstd.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        Header = header;
        Index = header.Segment;
        CreatedUtc = DateTime.UnixEpoch.AddTicks(header.CreatedMicros * 10);
        _headerHash = SHA256.HashData(headerNote);
        _cursor.StartSegment(headerNote, header.FirstSequence);
    }

    /// <summary>
    /// Creates the .open file and makes its header frame durable before any record can be acknowledged.
    /// With <paramref name="reserveUpTo"/> &gt; 0 the file is kept zero-filled ahead of the appended end, up to that
    /// size (the soft segment size), so a durable append overwrites zeros and changes no file size: fdatasync
    /// then flushes the data only (docs/audit-format.md §3.1).
    /// With <paramref name="durable"/> false (the log's start) the header and the first reserve step are only written:
    /// the first flushed append makes them durable with its own frames in one fdatasync, then the file's name with one
    /// folder sync. Nothing in the segment counts before that flush returns, and a crash before it leaves a segment
    /// that is missing, empty, without a complete header or with a torn tail: recovery discards or seals each.
    /// </summary>
    public static ActiveSegment Create(IAuditFileSystem fs, string directory, AuditSigner signer, int level, SegmentHeader header, long reserveUpTo = 0, bool durable = true)
    {
        var note = header.Encode();
        var seg = new ActiveSegment(fs, directory, signer, level, header, note) { _reserveLimit = reserveUpTo };
        try
        {
            if (durable)
            {
                if (fs.Exists(seg.OpenPath)) fs.Delete(seg.OpenPath);
                seg._file = fs.OpenAppend(seg.OpenPath);
            }
            else
            {
                seg._file = fs.CreateAppend(seg.OpenPath);
                seg._firstFlushPending = true;
            }
            seg.AppendNoteFrame(FrameKind.Header, note, flush: durable);
            return seg;
        }
        catch
        {
            seg.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Re-opens an unsealed segment after a crash: keeps the longest prefix of complete, chain-consistent
    /// frames, cuts the rest. Null when not even the header survived (the file is deleted: nothing in it was acknowledged).
    /// </summary>
    public static ActiveSegment? Resume(IAuditFileSystem fs, string directory, AuditSigner signer, int level, long index, out bool hadSeal, out long cutBytes)
    {
        hadSeal = false;
        cutBytes = 0;
        string path = Path.Combine(directory, SegmentNames.Open(index));
        var data = fs.ReadAllBytes(path);
        using var reader = new FrameReader();
        reader.Reset(data, zeroTailIsEnd: true);
        if (reader.Next(out var first, out _) != FrameReadStatus.Ok || first.Header.Kind != FrameKind.Header ||
            !SegmentHeader.TryDecode(first.Payload.Span, out var header, out _) || header!.Segment != index)
        {
            fs.Delete(path);
            return null;
        }
        var seg = new ActiveSegment(fs, directory, signer, level, header, first.Payload.ToArray());
        long valid = reader.Position;
        Span<byte> chain = stackalloc byte[32];
        while (reader.Next(out var frame, out _) == FrameReadStatus.Ok)
        {
            if (frame.Header.Kind == FrameKind.Records)
            {
                seg._scratch.CopyFrom(seg._cursor);
                var it = new RecordIterator(frame.Payload.Span);
                bool ok = true;
                for (int i = 0; i < frame.Header.RecordCount && ok; i++)
                {
                    ok = it.TryNext(out var body, out var stored, out _) && seg._scratch.Append(body, chain, out _) && chain.SequenceEqual(stored);
                }
                if (!ok || !it.AtEnd) break;
                (seg._cursor, seg._scratch) = (seg._scratch, seg._cursor);
            }
            else if (frame.Header.Kind == FrameKind.Seal)
            {
                hadSeal = true;
                valid = reader.Position;
                break;
            }
            else if (frame.Header.Kind != FrameKind.Checkpoint)
            {
                break;
            }
            valid = reader.Position;
        }
        cutBytes = TornBytes(data, valid);
        seg.CommittedLength = valid;
        seg.Sealed = hadSeal;
        if (!hadSeal)
        {
            seg._file = fs.OpenAppend(path);
            // The torn tail and the zero-filled reserve both go: the recovered segment is sealed at its real end.
            if (data.Length != valid) { seg._file.Truncate(valid); seg._file.Flush(); }
        }
        return seg;
    }

    /// <summary>
    /// Bytes after <paramref name="valid"/> that a crash left written: a torn frame, not counting the zero-filled
    /// reserve after it (a frame's own bytes may end in zeros, so this is only a count, never where to cut).
    /// </summary>
    public static long TornBytes(ReadOnlySpan<byte> data, long valid)
    {
        int lastWritten = data.LastIndexOfAnyExcept((byte)0);
        return Math.Max(0, lastWritten + 1 - valid);
    }

    /// <summary>
    /// The most raw bytes one records frame takes: even incompressible records then compress to no more than
    /// <see cref="FrameHeader.MaxPayload"/> (zstd's bound adds 1/256 and a little), so every frame stays within the
    /// reader's limit (docs/audit-format.md §3). One record (at most <see cref="RecordLayout.MaxBody"/>) always fits.
    /// </summary>
    public const int MaxFrameRaw = FrameHeader.MaxPayload - FrameHeader.MaxPayload / 128;

    /// <summary>
    /// Frames a batch, appends it and optionally fsyncs. <paramref name="entries"/> is laid out as a records frame's raw
    /// bytes (u32 length, body, a 32-byte slot for the chain hash, back to back): the chain hashes are written into the
    /// slots and the frame is compressed from there, so the batch is not copied again (issue #14). A batch of more than
    /// <see cref="MaxFrameRaw"/> bytes becomes several frames, appended and flushed as one write, so the batch is still
    /// committed (or undone) as a whole. Throws on I/O failure with the chain state unchanged.
    /// </summary>
    public void AppendRecords(Span<byte> entries, int count, bool flush)
    {
        _scratch.CopyFrom(_cursor);
        _frame.Clear();
        int frameStart = 0, inFrame = 0, at = 0;
        for (int i = 0; i < count; i++)
        {
            int length = BinaryPrimitives.ReadInt32LittleEndian(entries[at..]);
            if ((uint)length > RecordLayout.MaxBody) throw new InvalidOperationException($"record body of {length} bytes exceeds the format's limit of {RecordLayout.MaxBody}");
            int entry = RecordLayout.LengthPrefix + length + RecordLayout.ChainHashSize;
            if (inFrame > 0 && at + entry - frameStart > MaxFrameRaw)
            {
                CompressFrame(entries[frameStart..at], inFrame);
                frameStart = at;
                inFrame = 0;
            }
            int body = at + RecordLayout.LengthPrefix;
            if (!_scratch.Append(entries.Slice(body, length), entries.Slice(body + length, RecordLayout.ChainHashSize), out var error)) throw new InvalidOperationException(error);
            at += entry;
            inFrame++;
        }
        if (at != entries.Length) throw new InvalidOperationException($"a batch of {count} records ends at byte {at} of {entries.Length}");
        if (inFrame > 0) CompressFrame(entries[frameStart..at], inFrame);
        Append(_frame.WrittenSpan, flush);
        (_cursor, _scratch) = (_scratch, _cursor);
    }

    /// <summary>Compresses <paramref name="raw"/> (<paramref name="count"/> records, chain hashes filled in) into one records frame at the end of _frame.</summary>
    private void CompressFrame(ReadOnlySpan<byte> raw, int count)
    {
        int bound = Compressor.GetCompressBound(raw.Length);
        var target = _frame.GetSpan(FrameHeader.Size + bound);
        int compressed = _zstd.Wrap(raw, target[FrameHeader.Size..]);
        new FrameHeader(FrameKind.Records, FrameCodec.Zstd, compressed, raw.Length, count).Write(target, target.Slice(FrameHeader.Size, compressed));
        _frame.Advance(FrameHeader.Size + compressed);
    }

    /// <summary>
    /// Writes a signed checkpoint frame (fsynced) and returns the checkpoint note bytes. <paramref name="acknowledged"/>
    /// is the number of sequences already answered to callers (more than are durable in batched mode).
    /// </summary>
    public byte[] WriteCheckpoint(string chain, long nowMicros, long acknowledged)
    {
        var cp = new Checkpoint(chain, Index, _cursor.NextSequence, _cursor.SegmentRecords, _cursor.Head.ToArray(),
            _cursor.Merkle.GetRoot(), nowMicros, _signer.KeyId, Math.Max(acknowledged, _cursor.NextSequence));
        var unsigned = cp.EncodeUnsigned();
        var note = AuditNote.AppendSignature(unsigned, _signer.Sign(unsigned));
        AppendNoteFrame(FrameKind.Checkpoint, note);
        return note;
    }

    /// <summary>The checkpoint note describing the current committed state, without writing a frame (used after sealing).</summary>
    public byte[] CurrentCheckpointNote(string chain, long nowMicros)
    {
        var cp = new Checkpoint(chain, Index, _cursor.NextSequence, _cursor.SegmentRecords, _cursor.Head.ToArray(),
            _cursor.Merkle.GetRoot(), nowMicros, _signer.KeyId);
        var unsigned = cp.EncodeUnsigned();
        return AuditNote.AppendSignature(unsigned, _signer.Sign(unsigned));
    }

    /// <summary>Appends the signed seal (fsynced), renames .open to .seg and returns the seal note bytes.</summary>
    public byte[] SealAndRename(bool recovered, long nowMicros)
    {
        var seal = new Seal(Header.Chain, Index, Header.FirstSequence, _cursor.SegmentRecords, _cursor.Head.ToArray(),
            _cursor.Merkle.GetRoot(), _headerHash, nowMicros, recovered, _signer.KeyId);
        var unsigned = seal.EncodeUnsigned();
        var note = AuditNote.AppendSignature(unsigned, _signer.Sign(unsigned));
        // A sealed segment never keeps a zero-filled reserve or a failed write's leftovers: the seal must be its last bytes.
        if (_file is { } file) CutToCommitted(file, dropReserve: true);
        _reserveLimit = 0;
        AppendNoteFrame(FrameKind.Seal, note);
        Sealed = true;
        SealNote = note;
        _file?.Dispose();
        _file = null;
        _fs.Rename(OpenPath, SealedPath);
        return note;
    }

    /// <summary>Reads the seal note of an already-sealed file (the crash happened between sealing and renaming).</summary>
    public void CompleteRename() => _fs.Rename(OpenPath, SealedPath);

    /// <summary>Cuts off whatever a failed write left behind.</summary>
    public void RollBack()
    {
        if (_file is { } file) CutToCommitted(file, dropReserve: false);
    }

    /// <summary>
    /// Truncates the file to <see cref="CommittedLength"/> when a failed write may have left bytes after it (or, with
    /// <paramref name="dropReserve"/>, when a zero-filled reserve follows it). Every caller appends a frame and
    /// fdatasyncs next, which makes the new size durable; a crash before that finds an open segment, whose torn
    /// tail recovery cuts.
    /// </summary>
    private void CutToCommitted(IAuditFile file, bool dropReserve)
    {
        if (!_uncommittedTail && file.Length == CommittedLength && (!dropReserve || file.Reserved == CommittedLength)) return;
        file.Truncate(CommittedLength);
        _uncommittedTail = false;
    }

    private void AppendNoteFrame(FrameKind kind, byte[] note, bool flush = true)
    {
        var buffer = new byte[FrameHeader.Size + note.Length];
        new FrameHeader(kind, FrameCodec.None, note.Length, note.Length, 0).Write(buffer, note);
        note.CopyTo(buffer, FrameHeader.Size);
        Append(buffer, flush);
    }

    private void Append(ReadOnlySpan<byte> frame, bool flush)
    {
        var file = _file ?? throw new InvalidOperationException("segment is sealed");
        CutToCommitted(file, dropReserve: false);
        long end = CommittedLength + frame.Length;
        if (end > file.Reserved && end < _reserveLimit)
            TryReserve(file, Math.Min(_reserveLimit, end + (file.Reserved == 0 ? FirstReserveStep : ReserveStep)));
        try
        {
            if (flush)
            {
                // One system call where the file system allows (pwritev2 RWF_DSYNC): the flush is timed with its write.
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                file.AppendDurably(frame);
                LastFlushTicks = System.Diagnostics.Stopwatch.GetTimestamp() - started;
                if (_firstFlushPending)
                {
                    // The bytes first, then the name: a name made durable before its header would be an empty segment.
                    _fs.SyncDirectory(_directory);
                    _firstFlushPending = false;
                }
            }
            else
            {
                file.Append(frame);
            }
        }
        catch
        {
            _uncommittedTail = true;
            throw;
        }
        CommittedLength += frame.Length;
    }

    /// <summary>
    /// The zero-filled tail is an optimisation, never a condition for recording: when the disk cannot hold it
    /// (a small or nearly full volume) the frame is appended anyway, growing the file (fdatasync then also
    /// flushes its size), and this segment stops reserving.
    /// </summary>
    private void TryReserve(IAuditFile file, long size)
    {
        try
        {
            file.Reserve(size, durable: !_firstFlushPending);
        }
        catch (IOException)
        {
            _reserveLimit = 0;
            if (file.Reserved != CommittedLength || file.Length != CommittedLength) file.Truncate(CommittedLength);
        }
    }

    public void Dispose()
    {
        _file?.Dispose();
        _zstd.Dispose();
        _cursor.Dispose();
        _scratch.Dispose();
    }
}
