namespace FastMcp.Identity;

/// <summary>The identity configuration is unusable (invalid option, unreachable discovery document, bad key file).</summary>
public sealed class IdentityConfigurationException : Exception
{
    public IdentityConfigurationException(string message) : base(message) { }
    public IdentityConfigurationException(string message, Exception inner) : base(message, inner) { }
}
