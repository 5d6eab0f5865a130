using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;

namespace FastMcp.Audit.Reading;

/// <summary>
/// Running state of one segment's records: the chain head, the next expected sequence and the Merkle
/// root builder. chain_i = SHA-256(chain_(i-1) || leaf_i), leaf_i = SHA-256(0x00 || body_i).
/// The writer and every reader share this one definition.
/// </summary>
public sealed class ChainCursor : IDisposable
{
    private readonly byte[] _head = new byte[32];
    private readonly byte[] _leaf = new byte[32];

    public MerkleRootBuilder Merkle { get; } = new();
    public long NextSequence { get; private set; }
    public long SegmentRecords => Merkle.Count;
    public ReadOnlySpan<byte> Head => _head;
    /// <summary>The leaf hash of the record appended last.</summary>
    public ReadOnlySpan<byte> LastLeaf => _leaf;
    /// <summary>When set, every leaf hash is kept (for inclusion proofs).</summary>
    public List<byte[]>? LeafHashes { get; set; }

    /// <summary>Starts a segment: head = SHA-256(header note), sequence = the header's first-sequence.</summary>
    public void StartSegment(ReadOnlySpan<byte> headerNote, long firstSequence)
    {
        Sha256.Hash(headerNote, _head);
        NextSequence = firstSequence;
        Merkle.Reset();
        LeafHashes?.Clear();
    }

    /// <summary>Advances over one record body, writing the new chain hash; false when the body's sequence is not the next one.</summary>
    public bool Append(ReadOnlySpan<byte> body, Span<byte> chainOut, out string? error)
    {
        long seq = RecordLayout.ReadSequence(body);
        if (seq != NextSequence)
        {
            error = $"record sequence {seq} where {NextSequence} was expected";
            return false;
        }
        Sha256.Hash(Rfc6962.LeafHashPrefix, body, default, _leaf);
        Sha256.Hash(_head, _leaf, _head);
        Merkle.Append(_leaf);
        LeafHashes?.Add((byte[])_leaf.Clone());
        _head.CopyTo(chainOut);
        NextSequence++;
        error = null;
        return true;
    }

    /// <summary>Copies the whole state of <paramref name="other"/> (the writer snapshots before a write it may have to undo).</summary>
    public void CopyFrom(ChainCursor other)
    {
        other._head.CopyTo(_head, 0);
        NextSequence = other.NextSequence;
        Merkle.CopyFrom(other.Merkle);
    }

    public void Dispose() { }
}
