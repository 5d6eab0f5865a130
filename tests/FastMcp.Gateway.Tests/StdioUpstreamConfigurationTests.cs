using System.Text;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Tests;

/// <summary>upstream.stdio: every field read, checked and named when wrong; url and stdio exclude each other.</summary>
public sealed class StdioUpstreamConfigurationTests
{
    private static GatewayOptions Load(string upstream) =>
        ConfigurationLoader.Parse(Encoding.UTF8.GetBytes($$"""{"upstream":{{upstream}}}"""));

    private static ConfigurationException Fails(string upstream) =>
        Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Validate(Load(upstream)));

    [Fact]
    public void The_label_records_carry_is_made_once_per_command_and_never_shows_the_arguments()
    {
        GatewayOptions o = Load("""{"stdio":{"command":"node","args":["server.js","--token=secret"]}}""");
        StdioUpstreamOptions s = o.Upstream.Stdio!;
        string label = s.Describe();
        Assert.Equal("stdio:node", label);
        Assert.Same(label, s.Describe());
        Assert.Same(label, o.Upstream.Describe());
        s.Command = "python3";
        Assert.Equal("stdio:python3", s.Describe());
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 100; i++) s.Describe(); }));
    }

    [Fact]
    public void Every_field_is_read()
    {
        GatewayOptions o = Load("""
            {"stdio":{"command":"node","args":["server.js","--x"],"env":{"K":"V"},"inheritEnvironment":true,"workingDirectory":"/",
              "sessionIdleMs":5000,"maxSessions":3,"stopGraceMs":100,"maxMessageBytes":2048,
              "limits":{"memoryMb":512,"cpuSeconds":60,"openFiles":256}}}
            """);
        ConfigurationLoader.Validate(o);
        StdioUpstreamOptions s = o.Upstream.Stdio!;
        Assert.Equal("node", s.Command);
        Assert.Equal(["server.js", "--x"], s.Args);
        Assert.Equal("V", s.Env["K"]);
        Assert.True(s.InheritEnvironment);
        Assert.Equal("/", s.WorkingDirectory);
        Assert.Equal((5000, 3, 100, 2048), (s.SessionIdleMs, s.MaxSessions, s.StopGraceMs, s.MaxMessageBytes));
        Assert.Equal((512L, 60, 256), (s.Limits.MemoryMb, s.Limits.CpuSeconds, s.Limits.OpenFiles));
        Assert.Equal("stdio:node", o.Upstream.Describe());
    }

    [Fact]
    public void Url_and_stdio_together_are_refused_naming_the_field()
    {
        ConfigurationException e = Fails("""{"url":"http://127.0.0.1:1/mcp","stdio":{"command":"node"}}""");
        Assert.Equal("upstream.stdio", e.Field);
        Assert.Contains("upstream.url", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"stdio":{}}""", "upstream.stdio.command")]
    [InlineData("""{"stdio":{"command":"node","env":{"A=B":"x"}}}""", "upstream.stdio.env")]
    [InlineData("""{"stdio":{"command":"node","workingDirectory":"/no/such/dir/here"}}""", "upstream.stdio.workingDirectory")]
    [InlineData("""{"stdio":{"command":"node","sessionIdleMs":10}}""", "upstream.stdio.sessionIdleMs")]
    [InlineData("""{"stdio":{"command":"node","maxSessions":0}}""", "upstream.stdio.maxSessions")]
    [InlineData("""{"stdio":{"command":"node","stopGraceMs":0}}""", "upstream.stdio.stopGraceMs")]
    [InlineData("""{"stdio":{"command":"node","maxMessageBytes":10}}""", "upstream.stdio.maxMessageBytes")]
    [InlineData("""{"stdio":{"command":"node","limits":{"memoryMb":-1}}}""", "upstream.stdio.limits.memoryMb")]
    [InlineData("""{"stdio":{"command":"node","limits":{"memoryMb":4}}}""", "upstream.stdio.limits.memoryMb")]
    [InlineData("""{"stdio":{"command":"node","limits":{"cpuSeconds":-5}}}""", "upstream.stdio.limits.cpuSeconds")]
    [InlineData("""{"stdio":{"command":"node","limits":{"openFiles":3}}}""", "upstream.stdio.limits.openFiles")]
    [InlineData("""{"stdio":{"command":"node","limits":null}}""", "upstream.stdio.limits")]
    [InlineData("""{"stdio":{"command":"node","runAs":{}}}""", "upstream.stdio.runAs.user")]
    [InlineData("""{"stdio":{"command":"node","runAs":{"user":"fastmcp-no-such-user"}}}""", "upstream.stdio.runAs.user")]
    [InlineData("""{"stdio":{"command":"node","runAs":{"user":"nobody","group":"fastmcp-no-such-group"}}}""", "upstream.stdio.runAs.group")]
    [InlineData("""{"stdio":{"command":"node","runAs":{"user":"3999999999"}}}""", "upstream.stdio.runAs.group")]
    [InlineData("""{"stdio":{"command":"node","runAs":{"user":"4294967295","group":"1"}}}""", "upstream.stdio.runAs.user")]
    public void A_bad_field_is_named(string upstream, string field) => Assert.Equal(field, Fails(upstream).Field);

    [Fact]
    public void An_unknown_stdio_field_is_named()
    {
        ConfigurationException e = Assert.Throws<ConfigurationException>(() => Load("""{"stdio":{"command":"node","shell":true}}"""));
        Assert.Contains("shell", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_run_as_field_is_named()
    {
        ConfigurationException e = Assert.Throws<ConfigurationException>(() => Load("""{"stdio":{"command":"node","runAs":{"user":"nobody","groups":["adm"]}}}"""));
        Assert.Contains("groups", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_run_as_fields_are_read()
    {
        StdioRunAsOptions r = Load("""{"stdio":{"command":"node","runAs":{"user":"nobody","group":"nogroup","requireSecretIsolation":true}}}""").Upstream.Stdio!.RunAs!;
        Assert.Equal(("nobody", "nogroup", true), (r.User, r.Group, r.RequireSecretIsolation));
        Assert.Null(Load("""{"stdio":{"command":"node"}}""").Upstream.Stdio!.RunAs);
    }

    [RunAsNobodyFact]
    public void A_run_as_user_resolves_by_name_or_number_to_its_primary_group_or_the_given_one()
    {
        GatewayOptions byName = Load("""{"stdio":{"command":"node","runAs":{"user":"nobody"}}}""");
        ConfigurationLoader.Validate(byName);
        Assert.Equal((65534u, 65534u), (byName.Upstream.Stdio!.RunAs!.Uid, byName.Upstream.Stdio.RunAs.Gid));
        GatewayOptions byNumber = Load("""{"stdio":{"command":"node","runAs":{"user":"65534","group":"0"}}}""");
        ConfigurationLoader.Validate(byNumber);
        Assert.Equal((65534u, 0u), (byNumber.Upstream.Stdio!.RunAs!.Uid, byNumber.Upstream.Stdio.RunAs.Gid));
    }

    [Fact]
    public void Root_switches_users_only_with_the_capabilities_to_switch_and_to_stop_the_server()
    {
        const string everything = "CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n";
        Assert.Null(Upstream.Stdio.CredentialSwitch.WhyNot(0, everything));
        // A container that dropped CAP_SETUID (bit 7) and CAP_KILL (bit 5) from the bounding set.
        string dropped = Upstream.Stdio.CredentialSwitch.WhyNot(0, "CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffff5f\n")!;
        Assert.Contains("CAP_SETUID", dropped, StringComparison.Ordinal);
        Assert.Contains("CAP_KILL", dropped, StringComparison.Ordinal);
        Assert.DoesNotContain("CAP_SETGID", dropped, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_user_switches_only_with_ambient_capabilities()
    {
        // Effective but not ambient: lost at the exec of `fastmcp stdio-exec`.
        string notAmbient = Upstream.Stdio.CredentialSwitch.WhyNot(1000, "CapEff:\t00000000000000e0\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n")!;
        Assert.Contains("uid 1000", notAmbient, StringComparison.Ordinal);
        Assert.Contains("CAP_SETUID, CAP_SETGID, CAP_KILL", notAmbient, StringComparison.Ordinal);
        Assert.Null(Upstream.Stdio.CredentialSwitch.WhyNot(1000, "CapEff:\t00000000000000e0\nCapAmb:\t00000000000000e0\n"));
    }
}
