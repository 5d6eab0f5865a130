using System.Net;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tasks;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>
/// Admitting a request on an owned task (Tasks/TaskRedecision.cs) allocates nothing: while the policy is the one the
/// binding was decided under, a reference compare; after a reload, one new verdict, then nothing again; under a policy with
/// time conditions, a full decision every time, on the kept arguments, allocating nothing.
/// </summary>
public sealed class TaskRedecisionAllocationTests
{
    private static readonly Principal Alice = new("alice", ["analysts"], [], null, "issuer", DateTimeOffset.MaxValue);

    private static PolicyEngine Compile(params RuleOptions[] rules) => GatewayStages.CompilePolicy(new PolicyOptions { Rules = [.. rules] });

    private static readonly RuleOptions Research = new()
    {
        Name = "research", Action = "allow", Methods = ["tools/call"], Names = ["research"], Groups = ["analysts"],
        Arguments = [new ArgumentConditionOptions { Pointer = "/amount", LessThan = 100 }],
    };

    private static TaskBinding Bound(PolicyEngine engine)
    {
        var bindings = new TaskBindings(10, 10);
        var call = new TaskCreatingCall("tools/call", "research", """{"amount":5}"""u8.ToArray(), false, null);
        Assert.True(bindings.Bind("default", "task-1"u8, Alice, new TaskVerdict(engine, Alice, null), call));
        Assert.Equal(TaskCheck.Owned, bindings.Check("default", "task-1"u8, Alice, out TaskBinding? owned));
        return owned!;
    }

    private static int Admitted(TaskBinding binding, PolicyEngine engine, int times)
    {
        int admitted = 0;
        for (int i = 0; i < times; i++)
            admitted += TaskRedecision.Admit(binding, engine, Alice, "default", default, IPAddress.Loopback, null, out _, out _) is null ? 1 : 0;
        return admitted;
    }

    [Fact]
    public void Admitting_under_the_same_policy_allocates_nothing_and_a_reload_decides_once()
    {
        PolicyEngine engine = Compile(Research);
        TaskBinding binding = Bound(engine);
        Assert.Equal(1_000, Admitted(binding, engine, 1_000));
        Assert.Equal(0, ThreadAllocations.Measure(() => Admitted(binding, engine, 10_000), out int admitted));
        Assert.Equal(10_000, admitted);

        PolicyEngine reloaded = Compile(new RuleOptions { Name = "other", Action = "deny", Methods = ["tools/call"], Names = ["wire"] }, Research);
        Assert.Equal(1, Admitted(binding, reloaded, 1));
        Assert.Same(reloaded, binding.Verdict.Engine);
        Assert.Equal(0, ThreadAllocations.Measure(() => Admitted(binding, reloaded, 10_000), out admitted));
        Assert.Equal(10_000, admitted);

        // A reload that refuses the call refuses the task.
        PolicyEngine denying = Compile(new RuleOptions { Name = "frozen", Action = "deny", Methods = ["tools/call"] }, Research);
        Assert.Equal(0, Admitted(binding, denying, 1));
    }

    [Fact]
    public void Under_time_conditions_every_request_decides_again_allocating_nothing()
    {
        var clock = new ManualPolicyClock(new DateTimeOffset(2030, 3, 4, 17, 0, 0, TimeSpan.Zero));
        var windowed = new RuleOptions
        {
            Name = "research-until", Action = "allow", Methods = ["tools/call"], Names = ["research"],
            Arguments = [new ArgumentConditionOptions { Pointer = "/amount", LessThan = 100 }],
            Time = new TimeConditionOptions { NotAfter = "2030-03-04T18:00:00Z" },
        };
        PolicyEngine engine = GatewayStages.CompilePolicy(new PolicyOptions { Rules = [windowed] }, clock);
        Assert.True(engine.ReadsClock);
        TaskBinding binding = Bound(engine);
        Assert.Equal(1_000, Admitted(binding, engine, 1_000));
        Assert.Equal(0, ThreadAllocations.Measure(() => Admitted(binding, engine, 10_000), out int admitted));
        Assert.Equal(10_000, admitted);

        clock.Advance(TimeSpan.FromHours(2));
        Assert.Equal(0, Admitted(binding, engine, 1));
    }
}
