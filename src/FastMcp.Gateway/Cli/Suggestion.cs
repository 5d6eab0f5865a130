namespace FastMcp.Gateway.Cli;

/// <summary>"Did you mean": the known name closest to a mistyped one, by edit distance.</summary>
internal static class Suggestion
{
    /// <summary>The closest candidate within a distance that still reads as a typo (a third of the word, at least 2), or null.</summary>
    public static string? Closest(string typed, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string c in candidates)
        {
            string t = typed.ToLowerInvariant(), k = c.ToLowerInvariant();
            // A longer or shorter spelling of a name ("--audit-directory" for "--audit-dir") reads as that name.
            int d = k.Length >= 3 && t.Length >= 3 && (t.StartsWith(k, StringComparison.Ordinal) || k.StartsWith(t, StringComparison.Ordinal)) ? 1 : Distance(t, k);
            if (d < bestDistance) (best, bestDistance) = (c, d);
        }
        return best is not null && bestDistance <= Math.Max(2, typed.Length / 3) ? best : null;
    }

    /// <summary>Levenshtein distance with adjacent transpositions counted as one edit.</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
