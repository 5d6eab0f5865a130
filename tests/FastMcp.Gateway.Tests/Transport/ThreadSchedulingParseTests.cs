using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Transport;

namespace FastMcp.Gateway.Tests.Transport;

/// <summary>The values FASTMCP_THREAD_SCHEDULING accepts (the policy itself is read back from /proc in the interop suite).</summary>
public sealed class ThreadSchedulingParseTests
{
    [Theory]
    [InlineData(null, 0)]
    [InlineData("", 0)]
    [InlineData("normal", 0)]
    [InlineData("Normal", 0)]
    [InlineData("batch", 3)]
    [InlineData("BATCH", 3)]
    public void Accepted_values_name_sched_other_or_sched_batch(string? value, int policy) =>
        Assert.Equal(policy, ThreadScheduling.Parse(value));

    [Theory]
    [InlineData("fifo")]
    [InlineData("rr")]
    [InlineData("idle")]
    [InlineData(" batch")]
    public void Anything_else_is_a_configuration_error_naming_the_variable(string value)
    {
        var e = Assert.Throws<ConfigurationException>(() => ThreadScheduling.Parse(value));
        Assert.Equal(ThreadScheduling.Variable, e.Field);
        Assert.Contains($"'{value}'", e.Message, StringComparison.Ordinal);
    }
}
