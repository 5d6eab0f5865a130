using System.Buffers;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;

namespace FastMcp.Mcp.Tests;

/// <summary>
/// <see cref="MemberNameTally"/>'s name hash, whose short printable-ASCII names are folded eight bytes at a time, against
/// the hashing as it was (kept here as the oracle): the same answer and the same hash, folded and exact, for random names
/// with escapes, control characters, DEL, non-ASCII letters, separators and every length from 0 past the short bound,
/// read whole and cut into segments.
/// </summary>
public sealed class MemberNameHashDifferentialTests
{
    private static readonly string[] Pieces =
    [
        "a", "z", "A", "Z", "M", "@", "[", "`", "{", "~", "_", "-", ".", "/", ":", " ", "0", "9", "?", "^",
        "\\u0041", "\\u005a", "\\u0000", "\\u001f", "\\n", "\\\"", "\\\\", "\\/", "\u007F", "é", "É", "\u212A", "\u017F", "Σ", "\u023A",
        "path", "Method", "ARGUMENTS", "progressToken", "_meta",
    ];

    [Fact]
    public void Random_names_hash_as_the_old_hashing_hashes_them()
    {
        int plainAscii = 0, other = 0, refused = 0, longNames = 0;
        for (int seed = 0; seed < 30000; seed++)
        {
            var random = new Random(seed);
            var text = new StringBuilder();
            // Mostly short names (where the fast fold works), some up to well past its 32-byte bound.
            int pieces = random.Next(4) == 0 ? random.Next(0, 40) : random.Next(0, 12);
            bool asciiOnly = random.Next(2) == 0;
            for (int i = 0; i < pieces; i++)
            {
                string piece = Pieces[random.Next(asciiOnly ? 20 : Pieces.Length)];
                text.Append(piece);
            }
            byte[] json = Encoding.UTF8.GetBytes("{\"" + text + "\":1}");
            int nameBytes = json.Length - 7;
            if (asciiOnly) plainAscii++;
            else other++;
            if (nameBytes > 32) longNames++;
            foreach (bool fold in (bool[])[true, false])
            {
                var whole = new Utf8JsonReader(json);
                bool now = HashAt(ref whole, fold, out ulong nowHash, useOld: false);
                var again = new Utf8JsonReader(json);
                bool old = HashAt(ref again, fold, out ulong oldHash, useOld: true);
                Assert.True(old == now, $"seed {seed} fold {fold}: {text}");
                if (!old) refused++;
                else Assert.True(oldHash == nowHash, $"seed {seed} fold {fold}: {text}");
                // Cut inside or around the name: a name in two segments takes the slow path and must still agree.
                int cut = random.Next(1, json.Length);
                var split = new Utf8JsonReader(Segments.Split(json, cut));
                bool splitNow = HashAt(ref split, fold, out ulong splitHash, useOld: false);
                Assert.True(splitNow == old && (!old || splitHash == oldHash), $"seed {seed} fold {fold} cut {cut}: {text}");
            }
        }
        Assert.True(plainAscii > 10000 && other > 10000 && longNames > 2000, $"{plainAscii} ascii, {other} other, {longNames} long");
        Assert.True(refused > 1000, $"{refused} refused");
    }

    [Fact]
    public void Every_printable_ascii_byte_at_every_place_of_every_short_length_hashes_as_before()
    {
        for (int length = 1; length <= 40; length++)
        {
            for (int at = 0; at < length; at++)
            {
                for (int b = 0; b < 128; b++)
                {
                    // JSON strings carry control characters only escaped; a raw one would not be a name. DEL may be raw.
                    if (b < 0x20 || b == '"' || b == '\\') continue;
                    byte[] json = new byte[length + 6];
                    json[0] = (byte)'{';
                    json[1] = (byte)'"';
                    // Mixed case letters around the byte tried.
                    for (int i = 0; i < length; i++) json[2 + i] = (byte)('a' + (i * 7 + length) % 26 - ((i & 1) == 0 ? 32 : 0));
                    json[2 + at] = (byte)b;
                    "\":1}"u8.CopyTo(json.AsSpan(2 + length));
                    var now = new Utf8JsonReader(json);
                    var old = new Utf8JsonReader(json);
                    bool a = HashAt(ref now, true, out ulong nowHash, useOld: false);
                    bool e = HashAt(ref old, true, out ulong oldHash, useOld: true);
                    Assert.True(a == e && nowHash == oldHash, $"length {length}, byte 0x{b:x2} at {at}");
                }
            }
        }
    }

    private static bool HashAt(ref Utf8JsonReader reader, bool fold, out ulong hash, bool useOld)
    {
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName)
                return useOld ? OldTryHashName(ref reader, fold, out hash) : MemberNameTally.TryHashName(ref reader, fold, out hash);
        }
        throw new InvalidOperationException("no member name");
    }

    /// <summary>TryHashName as it was.</summary>
    private static bool OldTryHashName(ref Utf8JsonReader reader, bool fold, out ulong hash)
    {
        bool plain = !reader.ValueIsEscaped && !reader.HasValueSequence;
        if (plain && !fold)
        {
            hash = XxHash3.HashToUInt64(reader.ValueSpan, MemberNameTally.Seed);
            return true;
        }
        int length = plain ? 0 : JsonCursor.ValueLength(ref reader);
        Span<byte> unescaped = new byte[Math.Max(256, length)];
        ReadOnlySpan<byte> name = plain ? reader.ValueSpan : unescaped[..reader.CopyString(unescaped)];
        if (!fold)
        {
            hash = XxHash3.HashToUInt64(name, MemberNameTally.Seed);
            return true;
        }
        Span<byte> folded = new byte[Math.Max(256, name.Length * 2)];
        if (!MemberNameFold.TryFold(name, folded, out int written))
        {
            hash = 0;
            return false;
        }
        hash = XxHash3.HashToUInt64(folded[..written], MemberNameTally.Seed);
        return true;
    }
}
