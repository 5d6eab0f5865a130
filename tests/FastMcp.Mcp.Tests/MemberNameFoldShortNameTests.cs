using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

/// <summary>
/// <see cref="MemberNameFold.TryFold"/>'s byte-by-byte pass for short ASCII names against the three vectorised passes it
/// goes before, kept here as the oracle: the same answer, the same fold and length, for random names of every length
/// around the short bound, with control characters, DEL, non-ASCII letters, and destinations too small.
/// </summary>
public sealed class MemberNameFoldShortNameTests
{
    private static readonly string[] Pieces = ["a", "Z", "M", "_", "-", "0", "@", "[", "`", "{", "~", "\u007F", "\u0000", "\u001F", "\t", "é", "\u212A", "\u017F", "Σ", "\u023A", "path", "Method"];

    [Fact]
    public void Random_names_fold_as_the_three_passes_fold_them()
    {
        int folded = 0, refused = 0;
        for (int seed = 0; seed < 20000; seed++)
        {
            var random = new Random(seed);
            var text = new StringBuilder();
            int pieces = random.Next(0, 40);
            for (int i = 0; i < pieces; i++) text.Append(Pieces[random.Next(Pieces.Length)]);
            byte[] name = Encoding.UTF8.GetBytes(text.ToString());
            int room = random.Next(4) == 0 ? random.Next(0, name.Length + 1) : name.Length * 2;
            byte[] expected = new byte[room], actual = new byte[room];
            bool old = OldTryFold(name, expected, out int oldWritten);
            bool now = MemberNameFold.TryFold(name, actual, out int written);
            Assert.True(old == now, $"seed {seed}: {text}");
            if (!old) { refused++; continue; }
            folded++;
            Assert.True(expected.AsSpan(0, oldWritten).SequenceEqual(actual.AsSpan(0, written)), $"seed {seed}: {text}");
        }
        Assert.InRange(folded, 2000, 18000);
        Assert.True(refused > 2000, $"{refused} refused");
    }

    /// <summary>TryFold as it was.</summary>
    private static bool OldTryFold(ReadOnlySpan<byte> name, Span<byte> destination, out int written)
    {
        written = 0;
        if (MemberNameFold.HasControlCharacter(name)) return false;
        OperationStatus status = Ascii.ToLower(name, destination, out written);
        if (status == OperationStatus.Done) return true;
        if (status == OperationStatus.DestinationTooSmall) return false;
        ReadOnlySpan<byte> rest = name[written..];
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(rest, out Rune rune, out int consumed) != OperationStatus.Done) return false;
            rest = rest[consumed..];
            Rune fold = rune.IsAscii ? Rune.ToLowerInvariant(rune) : rune.Value == 0x017F ? new Rune('s') : rune.Value == 0x212A ? new Rune('k')
                : Rune.ToLowerInvariant(Rune.ToUpperInvariant(rune));
            if (!fold.TryEncodeToUtf8(destination[written..], out int n)) return false;
            written += n;
        }
        return true;
    }
}
