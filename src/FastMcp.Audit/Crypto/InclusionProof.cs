namespace FastMcp.Audit.Crypto;

/// <summary>RFC 6962 §2.1.1 audit paths and their RFC 9162 §2.1.3.2 verification.</summary>
public static class InclusionProof
{
    /// <summary>The audit path for leaf <paramref name="index"/> in the tree over <paramref name="leafHashes"/>.</summary>
    public static List<byte[]> Create(ReadOnlySpan<byte[]> leafHashes, int index)
    {
        if ((uint)index >= (uint)leafHashes.Length) throw new ArgumentOutOfRangeException(nameof(index));
        var path = new List<byte[]>();
        Collect(leafHashes, index, path);
        return path;
    }

    private static void Collect(ReadOnlySpan<byte[]> leaves, int m, List<byte[]> path)
    {
        if (leaves.Length <= 1) return;
        int k = Rfc6962.LargestPowerOfTwoBelow(leaves.Length);
        if (m < k)
        {
            Collect(leaves[..k], m, path);
            path.Add(Rfc6962.RootOf(leaves[k..]));
        }
        else
        {
            Collect(leaves[k..], m - k, path);
            path.Add(Rfc6962.RootOf(leaves[..k]));
        }
    }

    /// <summary>True when <paramref name="path"/> proves <paramref name="leafHash"/> sits at <paramref name="index"/> in the tree of <paramref name="treeSize"/> leaves with <paramref name="root"/>.</summary>
    public static bool Verify(long index, long treeSize, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]> path, ReadOnlySpan<byte> root)
    {
        if (index < 0 || treeSize <= 0 || index >= treeSize) return false;
        if (leafHash.Length != Rfc6962.HashSize || root.Length != Rfc6962.HashSize) return false;
        long fn = index, sn = treeSize - 1;
        Span<byte> r = stackalloc byte[Rfc6962.HashSize];
        leafHash.CopyTo(r);
        foreach (var p in path)
        {
            if (p.Length != Rfc6962.HashSize || sn == 0) return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                Rfc6962.NodeHash(p, r, r);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0) { fn >>= 1; sn >>= 1; }
                }
            }
            else
            {
                Rfc6962.NodeHash(r, p, r);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r.SequenceEqual(root);
    }
}
