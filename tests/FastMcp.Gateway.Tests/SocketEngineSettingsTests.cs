using FastMcp.Gateway.Transport;

namespace FastMcp.Gateway.Tests;

/// <summary>`serve` turns on inline socket completions unless the operator chose otherwise.</summary>
public sealed class SocketEngineSettingsTests
{
    private const string Variable = SocketEngineSettings.InlineCompletionsVariable;

    [Theory]
    [InlineData(null, "1")]
    [InlineData("0", "0")]
    [InlineData("1", "1")]
    public void An_unset_variable_is_turned_on_and_an_operators_value_is_kept(string? before, string expected)
    {
        string? saved = Environment.GetEnvironmentVariable(Variable);
        try
        {
            Environment.SetEnvironmentVariable(Variable, before);
            SocketEngineSettings.PreferInlineCompletions();
            Assert.Equal(expected, Environment.GetEnvironmentVariable(Variable));
        }
        finally
        {
            Environment.SetEnvironmentVariable(Variable, saved);
        }
    }
}
