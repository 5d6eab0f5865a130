using System.Text;
using FastMcp.Gateway.Stages;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>The strings audit records are filled with: the same value for the same bytes, once, within a bound.</summary>
public sealed class Utf8StringCacheTests
{
    [Fact]
    public void The_same_bytes_give_the_same_string_once_and_other_bytes_their_own()
    {
        var cache = new Utf8StringCache(16);
        string first = cache.Get("get_weather"u8);
        Assert.Equal("get_weather", first);
        Assert.Same(first, cache.Get("get_weather"u8.ToArray()));
        Assert.Equal("get_weathe", cache.Get("get_weathe"u8));
        Assert.Equal("grüße", cache.Get(Encoding.UTF8.GetBytes("grüße")));
        Assert.Equal("", cache.Get([]));
        Assert.Equal("ab01ff", cache.Hex([0xab, 0x01, 0xff]));
        Assert.Same(cache.Hex([0xab, 0x01, 0xff]), cache.Hex([0xab, 0x01, 0xff]));
        // Text and fingerprints are kept apart: the bytes "ab" are not the fingerprint 0x61 0x62.
        Assert.Equal("6162", cache.Hex("ab"u8));
        Assert.Equal("ab", cache.Get("ab"u8));
    }

    [Fact]
    public void Past_its_capacity_it_answers_correctly_without_remembering()
    {
        var cache = new Utf8StringCache(8);
        for (int i = 0; i < 100; i++) Assert.Equal("session-" + i, cache.Get(Encoding.UTF8.GetBytes("session-" + i)));
        string late = cache.Get("session-99"u8);
        Assert.Equal("session-99", late);
        Assert.NotSame(late, cache.Get("session-99"u8));
        Assert.Same(cache.Get("session-0"u8), cache.Get("session-0"u8));
        string longValue = new('x', 300);
        Assert.Equal(longValue, cache.Get(Encoding.UTF8.GetBytes(longValue)));
    }

    [Fact]
    public void Threads_adding_the_same_values_all_read_them_right()
    {
        var cache = new Utf8StringCache(4096);
        byte[][] keys = [.. Enumerable.Range(0, 500).Select(i => Encoding.UTF8.GetBytes("tool-" + i))];
        Parallel.For(0, 8, _ =>
        {
            for (int round = 0; round < 20; round++)
            {
                for (int i = 0; i < keys.Length; i++) Assert.Equal("tool-" + i, cache.Get(keys[i]));
            }
        });
        for (int i = 0; i < keys.Length; i++) Assert.Same(cache.Get(keys[i]), cache.Get(keys[i]));
    }

    [Fact]
    public void A_value_already_seen_is_found_without_allocating()
    {
        var cache = new Utf8StringCache(64);
        byte[] session = "bench-000000000000001e"u8.ToArray();
        byte[] fingerprint = new byte[32];
        cache.Get(session);
        cache.Hex(fingerprint);
        Assert.Equal(0, ThreadAllocations.Measure(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                cache.Get(session);
                cache.Hex(fingerprint);
            }
        }));
    }
}
