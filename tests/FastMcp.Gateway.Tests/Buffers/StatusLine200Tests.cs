using System.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Proxy;

namespace FastMcp.Gateway.Tests.Buffers;

/// <summary>The relay's constant 200 status line against the general writer it stands in for (the oracle).</summary>
public sealed class StatusLine200Tests
{
    [Fact]
    public void The_constant_line_is_what_the_status_line_writer_writes_for_200_and_no_other_status()
    {
        for (int status = 100; status < 600; status++)
        {
            var written = new ArrayBufferWriter<byte>();
            GatewayResponses.WriteStatusLine(written, status);
            Assert.Equal(status == 200, written.WrittenSpan.SequenceEqual(ResponseRelay.StatusLine200));
        }
    }
}
