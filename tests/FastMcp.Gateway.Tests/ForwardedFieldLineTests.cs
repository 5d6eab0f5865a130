using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using FastMcp.Gateway.Forwarding;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// The encoder of the digest's headers and cookies lines and of the records' component.headers and component.cookies:
/// its text, and that an exchange's record costs no allocation once its buffers have grown.
/// </summary>
public sealed class ForwardedFieldLineTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    private static string Mac(string value) => Convert.ToHexStringLower(HMACSHA256.HashData(Key, Encoding.ASCII.GetBytes(value)));

    [Fact]
    public void Headers_are_sorted_lowercased_escaped_and_a_redacted_one_is_its_mac()
    {
        var line = new ForwardedFieldLine();
        line.AddHeader("X-Tenant"u8, "prod"u8, redacted: false);
        line.AddHeader("X-Api-Key"u8, "k-1"u8, redacted: true);
        line.AddHeader("x-note"u8, "a,b 100%\u00e9"u8, redacted: false);
        line.AddHeader("X-NOTE"u8, "second"u8, redacted: false);
        var output = new ArrayBufferWriter<byte>();
        line.Write(output, Key);
        Assert.Equal($"x-api-key={Mac("k-1")},x-note:a%2Cb 100%25%C3%A9,x-note:second,x-tenant:prod", Encoding.ASCII.GetString(output.WrittenSpan));
        Assert.Equal(output.WrittenCount, line.Length);
    }

    [Fact]
    public void Cookies_are_names_and_macs_sorted_with_cookie2_prefixed()
    {
        var line = new ForwardedFieldLine();
        line.AddCookieField(cookie2: false, "sid=s-1; ; theme=dark;bare"u8);
        line.AddCookieField(cookie2: true, "a:b=1"u8);
        var output = new ArrayBufferWriter<byte>();
        line.Write(output, Key);
        Assert.Equal($"{Mac("bare")},cookie2:a%3Ab={Mac("1")},sid={Mac("s-1")},theme={Mac("dark")}", Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Writing_a_records_lines_allocates_nothing_once_warm()
    {
        var headers = new ForwardedFieldLine();
        var cookies = new ForwardedFieldLine();
        var output = new ArrayBufferWriter<byte>(4096);
        for (int i = 0; i < 100; i++) Once(headers, cookies, output);
        long allocated = ThreadAllocations.Measure(() => { for (int i = 0; i < 2_000; i++) Once(headers, cookies, output); });
        Assert.Equal(0, allocated);
        Assert.Contains("x-tenant:prod", Encoding.ASCII.GetString(output.WrittenSpan), StringComparison.Ordinal);
    }

    private static void Once(ForwardedFieldLine headers, ForwardedFieldLine cookies, ArrayBufferWriter<byte> output)
    {
        output.ResetWrittenCount();
        headers.Clear();
        headers.AddHeader("X-Tenant"u8, "prod"u8, redacted: false);
        headers.AddHeader("X-Api-Key"u8, "per-user"u8, redacted: true);
        headers.Write(output, Key);
        cookies.Clear();
        cookies.AddCookieField(cookie2: false, "sid=s-1; env=prod"u8);
        cookies.Write(output, Key);
    }
}
