using FastMcp.Audit.Format;
using FastMcp.Audit.Recording;

namespace FastMcp.Audit.Tests;

/// <summary>
/// The composed record's time, whose text up to the second is kept from the record before, against
/// <see cref="NoteValues.FormatTime"/> as the oracle: runs of times within a second, across seconds, minutes, days and
/// years, going back, and before 1970.
/// </summary>
public sealed class RecordTimeTextTests
{
    [Fact]
    public void Times_one_after_another_read_as_formatted_afresh()
    {
        var text = new RecordTimeText();
        var random = new Random(14);
        long t = 1_700_000_000_000_000;
        byte[] expected = new byte[NoteValues.TimeLength], actual = new byte[NoteValues.TimeLength];
        int sameSecond = 0;
        for (int i = 0; i < 200_000; i++)
        {
            long before = t;
            t += random.Next(8) switch
            {
                0 => random.NextInt64(0, 400_000_000_000), // days to a year and more ahead
                1 => -random.NextInt64(0, 3_000_000),      // back a little (another thread's earlier time)
                2 => 1_000_000 - t % 1_000_000,            // exactly the next second
                3 => random.Next(1, 100) == 1 ? -t - random.NextInt64(1, 1_000_000_000_000) : 0, // now and then before 1970
                _ => random.Next(0, 2_000),
            };
            if (t / 1_000_000 == before / 1_000_000 && t >= 0 && before >= 0) sameSecond++;
            Array.Clear(actual);
            int n = text.Format(t, actual);
            int m = NoteValues.FormatTime(t, expected);
            Assert.Equal(m, n);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{t}: {System.Text.Encoding.ASCII.GetString(expected)} / {System.Text.Encoding.ASCII.GetString(actual)}");
            if (t < 0 || t > 200_000_000_000_000_000) t = 1_700_000_000_000_000 + random.NextInt64(0, 100_000_000_000);
        }
        Assert.True(sameSecond > 80_000, $"{sameSecond} in the same second");
    }
}
