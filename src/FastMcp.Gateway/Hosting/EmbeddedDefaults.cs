using FastMcp.Gateway.Configuration;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Hosting;

/// <summary>
/// What `fastmcp serve` uses when no configuration file is given: dev-mode identity (tokens from
/// `fastmcp token`), a policy that allows every call of a dev token, masking and audit on.
/// </summary>
internal static class EmbeddedDefaults
{
    public const string DevRuleName = "embedded-dev-allow-all";

    public static void Apply(GatewayOptions options)
    {
        options.Identity ??= new IdentityOptions
        {
            Mode = IdentityModes.Dev,
            Resource = $"http://{options.Listen[0]}{options.EndpointPath}",
        };
        options.Policy ??= new PolicyOptions
        {
            Rules = [new RuleOptions { Name = DevRuleName, Action = "allow" }],
            DefaultAction = "deny",
        };
    }
}
