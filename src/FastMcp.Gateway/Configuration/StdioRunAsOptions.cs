using System.Globalization;
using FastMcp.Gateway.Upstream.Stdio;

namespace FastMcp.Gateway.Configuration;

/// <summary>
/// The user and group each server process of a stdio upstream runs as (docs/configuration.md, "upstream.stdio",
/// runAs), with no supplementary groups, so it cannot read the gateway's keys or write its audit trail.
/// </summary>
public sealed class StdioRunAsOptions
{
    /// <summary>A user name or a numeric uid.</summary>
    public string User { get; set; } = "";

    /// <summary>A group name or a numeric gid; empty: the user's primary group.</summary>
    public string? Group { get; set; }

    /// <summary>Refuse to start when the user could read a secret file of the gateway's or write its audit directory (else a warning).</summary>
    public bool RequireSecretIsolation { get; set; }

    /// <summary>The uid the server runs as (resolved by Validate).</summary>
    internal uint Uid { get; private set; }

    /// <summary>Its only group (resolved by Validate).</summary>
    internal uint Gid { get; private set; }

    /// <summary>False only when the user and group are the gateway's own and it cannot switch: the server then starts as before.</summary>
    internal bool Switches { get; private set; }

    internal string Describe() => $"uid {Uid} gid {Gid}";

    internal void Validate(string field)
    {
        if (string.IsNullOrWhiteSpace(User)) throw new ConfigurationException($"{field}.user", "is required (a user name or a numeric uid)");
        if (User.Contains('\0')) throw new ConfigurationException($"{field}.user", "must not hold NUL");
        if (Group is not null && Group.Contains('\0')) throw new ConfigurationException($"{field}.group", "must not hold NUL");
        if (!OperatingSystem.IsLinux()) throw new ConfigurationException(field, "runs servers as another user on Linux only");
        uint? primary;
        if (TryNumber(User, out uint uid))
        {
            Uid = uid;
            primary = UserDatabase.UserById(uid)?.Gid;
        }
        else
        {
            (uint Uid, uint Gid) user = UserDatabase.UserByName(User) ?? throw new ConfigurationException($"{field}.user", $"no user '{User}' on this system");
            Uid = user.Uid;
            primary = user.Gid;
        }
        if (string.IsNullOrEmpty(Group))
        {
            Gid = primary ?? throw new ConfigurationException($"{field}.group", $"is required: uid {Uid} has no user entry to take a primary group from");
        }
        else if (TryNumber(Group, out uint gid))
        {
            Gid = gid;
        }
        else
        {
            Gid = UserDatabase.GroupByName(Group) ?? throw new ConfigurationException($"{field}.group", $"no group '{Group}' on this system");
        }
        // Fail closed: a server that was meant to run as someone else never runs as the gateway.
        string? whyNot = CredentialSwitch.WhyNot();
        if (whyNot is null) { Switches = true; return; }
        if (Uid == CredentialSwitch.GatewayUid && Gid == CredentialSwitch.GatewayGid) { Switches = false; return; }
        throw new ConfigurationException(field, $"cannot run the server as {Describe()}: {whyNot}");
    }

    private static bool TryNumber(string text, out uint value)
    {
        value = 0;
        // (uid_t)-1 means "unchanged" to setuid: never a user.
        return text.Length > 0 && char.IsAsciiDigit(text[0]) && uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value != uint.MaxValue;
    }
}
