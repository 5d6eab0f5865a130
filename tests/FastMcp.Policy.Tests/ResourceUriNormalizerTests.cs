using System.Text;

namespace FastMcp.Policy.Tests;

/// <summary>RFC 3986 section 6.2.2 normalization of resource URIs, and what is refused instead.</summary>
public sealed class ResourceUriNormalizerTests
{
    private static string? Normalize(string uri)
    {
        byte[] input = Encoding.UTF8.GetBytes(uri);
        var output = new byte[input.Length];
        return ResourceUriNormalizer.TryNormalize(input, output, out int n) ? Encoding.UTF8.GetString(output, 0, n) : null;
    }

    [Theory]
    [InlineData("file:///etc/passwd", "file:///etc/passwd")]
    [InlineData("file:///tmp/../etc/passwd", "file:///etc/passwd")]
    [InlineData("file:///tmp/./../etc/./passwd", "file:///etc/passwd")]
    [InlineData("file:///../../etc/passwd", "file:///etc/passwd")]
    [InlineData("file://localhost/etc/passwd", "file:///etc/passwd")]
    [InlineData("FILE://LocalHost/etc/passwd", "file:///etc/passwd")]
    [InlineData("file:///%65tc/passwd", "file:///etc/passwd")]
    [InlineData("file:///%2E%2E/etc/passwd", "file:///etc/passwd")]
    [InlineData("file:///tmp/%2e%2e/etc", "file:///etc")]
    [InlineData("HTTPS://Example.COM/A/%7ea?q=%7E#F", "https://example.com/A/~a?q=~#F")]
    [InlineData("test://static/resource/1", "test://static/resource/1")]
    [InlineData("file:///a%20b", "file:///a%20b")]
    [InlineData("file:///a%c3%a9", "file:///a%C3%A9")]
    [InlineData("urn:isbn:0451450523", "urn:isbn:0451450523")]
    // RFC 3986 5.4 examples of dot-segment removal, on base http://a/b/c/d;p?q
    [InlineData("http://a/b/c/./../../g", "http://a/g")]
    [InlineData("http://a/b/c/g/..", "http://a/b/c/")]
    [InlineData("http://a/b/c/g/.", "http://a/b/c/g/")]
    [InlineData("http://a/b/c/g;x=1/./y", "http://a/b/c/g;x=1/y")]
    [InlineData("http://a/b/c/g;x=1/../y", "http://a/b/c/y")]
    public void Normalizes(string uri, string expected) => Assert.Equal(expected, Normalize(uri));

    [Theory]
    [InlineData("/etc/passwd")]            // no scheme
    [InlineData("1file:///etc")]           // a scheme starts with a letter
    [InlineData("file:///tmp%2F..%2Fetc")] // an encoded slash: servers that decode it walk another path
    [InlineData("file:///tmp/%5C..")]      // an encoded backslash
    [InlineData("file:///tmp\\..\\etc")]   // a backslash
    [InlineData("file:///etc/%00")]        // NUL
    [InlineData("file:///etc/%zz")]        // not hex
    [InlineData("file:///etc/%4")]         // truncated
    [InlineData("file:///etc/a b")]        // a space
    public void Refuses(string uri) => Assert.Null(Normalize(uri));

    [Fact]
    public void Never_needs_more_room_than_the_input()
    {
        Assert.Equal("file:///x", Normalize("file://localhost/a/../x"));
        byte[] input = Encoding.UTF8.GetBytes("file:///a");
        Assert.False(ResourceUriNormalizer.TryNormalize(input, new byte[input.Length - 1], out _));
    }
}
