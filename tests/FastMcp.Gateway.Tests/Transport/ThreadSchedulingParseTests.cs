using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Transport;

namespace FastMcp.Gateway.Tests.Transport;

/// <summary>
/// The values threads.scheduling and FASTMCP_THREAD_SCHEDULING accept (the policy itself is read back from /proc in
/// the interop suite, with the precedence of the two).
/// </summary>
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

    [Fact]
    public void An_error_names_the_field_the_value_came_from()
    {
        var e = Assert.Throws<ConfigurationException>(() => ThreadScheduling.Parse("realtime", ThreadScheduling.Field));
        Assert.Equal("threads.scheduling", e.Field);
        Assert.Contains("'realtime'", e.Message, StringComparison.Ordinal);
    }
}
