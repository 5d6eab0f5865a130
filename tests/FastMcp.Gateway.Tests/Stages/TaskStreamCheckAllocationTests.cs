using System.Net;
using System.Text;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Tasks;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Http;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The per-event check of a tasks/result stream (Proxy/StreamPolicyWatch.cs, BeginTask) allocates nothing while no reload
/// happened (a reference compare and a field read); after a reload it decides the task's creating call once, and nothing
/// is allocated again; a reload that denies the call ends the stream with TaskRedecision's reason.
/// </summary>
public sealed class TaskStreamCheckAllocationTests
{
    private static readonly Principal Alice = new("alice", [], [], null, "issuer", DateTimeOffset.MaxValue);
    private static readonly RuleOptions Research = new() { Name = "research", Action = "allow", Methods = ["tools/call"], Names = ["research"] };

    private static PolicyEngine Compile(params RuleOptions[] rules) => GatewayStages.CompilePolicy(new PolicyOptions { Rules = [.. rules] });

    [Fact]
    public async Task Checking_a_task_stream_allocates_nothing_and_a_reload_decides_its_creating_call_again()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [Research]);
        PolicyAuthorization authorization = g.Gateway.Stages.Authorization!;
        PolicyEngine engine = authorization.Engine;
        var bindings = new TaskBindings(10, 10);
        var call = new TaskCreatingCall("tools/call", "research", """{"q":"rates"}"""u8.ToArray(), false, null);
        Assert.True(bindings.Bind("default", "task-1"u8, Alice, new TaskVerdict(engine, Alice, null), call));
        Assert.Equal(TaskCheck.Owned, bindings.Check("default", "task-1"u8, Alice, out TaskBinding? task));
        var head = new HttpRequestHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, head.Parse(Encoding.ASCII.GetBytes("POST /mcp HTTP/1.1\r\nHost: a\r\n\r\n")));
        var exchange = new Exchange(head);
        var watch = new StreamPolicyWatch(g.Gateway.Host.Runtime);
        watch.BeginTask(engine, task!, Alice, "default", head, IPAddress.Loopback, "127.0.0.1", exchange, null);

        int kept = 0;
        for (int i = 0; i < 1_000; i++) kept += watch.Check() == StreamEndReason.None ? 1 : 0;
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 10_000; i++) kept += watch.Check() == StreamEndReason.None ? 1 : 0; }));
        Assert.Equal(11_000, kept);

        // A reload that still allows the call: decided once, then a reference compare again.
        authorization.Swap(Compile(new RuleOptions { Name = "other", Action = "deny", Methods = ["tools/call"], Names = ["wire"] }, Research));
        Assert.Equal(StreamEndReason.None, watch.Check());
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 10_000; i++) watch.Check(); }));

        // One that denies it ends the stream, saying why.
        authorization.Swap(Compile(new RuleOptions { Name = "frozen", Action = "deny", Methods = ["tools/call"] }, Research));
        Assert.Equal(StreamEndReason.TaskCallNotAllowed, watch.Check());
        Assert.Equal("the tools/call 'research' that created the task: denied by rule 'frozen'", watch.TaskRefusal);
        watch.Stop();
        Assert.Null(watch.TaskRefusal);
    }
}
