using System.Text;
using FastMcp.Gateway.Tasks;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>The task table itself: ids per upstream, bound to their first caller, bounded oldest first, looked up without allocating.</summary>
public sealed class TaskBindingsTests
{
    private static readonly Principal Alice = new("alice", [], [], null, "https://idp.example", DateTimeOffset.MaxValue);
    private static readonly Principal Bob = new("bob", [], [], null, "https://idp.example", DateTimeOffset.MaxValue);
    private static readonly Principal AliceElsewhere = new("alice", [], [], null, "https://other-idp.example", DateTimeOffset.MaxValue);

    private static byte[] Id(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void A_task_is_its_creators_at_its_issuer_on_its_upstream_only()
    {
        var table = new TaskBindings(100, 1_000);
        Assert.True(table.Bind("a", "t-1"u8, Alice));
        Assert.Equal(TaskCheck.Owned, table.Check("a", "t-1"u8, Alice));
        Assert.Equal(TaskCheck.Foreign, table.Check("a", "t-1"u8, Bob));
        Assert.Equal(TaskCheck.Foreign, table.Check("a", "t-1"u8, AliceElsewhere)); // same subject, another issuer
        Assert.Equal(TaskCheck.Unknown, table.Check("b", "t-1"u8, Alice));          // another upstream's ids
        Assert.Equal(TaskCheck.Unknown, table.Check("a", "t-2"u8, Alice));
        // Non-ASCII ids are compared as text, exactly.
        Assert.True(table.Bind("a", Id("tâche-é"), Alice));
        Assert.Equal(TaskCheck.Owned, table.Check("a", Id("tâche-é"), Alice));
        Assert.Equal(TaskCheck.Unknown, table.Check("a", Id("tâche-e"), Alice));
    }

    [Fact]
    public void An_id_bound_to_one_caller_is_never_moved_to_another()
    {
        var table = new TaskBindings(100, 1_000);
        Assert.True(table.Bind("a", "t-1"u8, Alice));
        Assert.False(table.Bind("a", "t-1"u8, Bob));
        Assert.True(table.Bind("a", "t-1"u8, Alice));
        Assert.Equal(TaskCheck.Foreign, table.Check("a", "t-1"u8, Bob));
        Assert.Equal(1, table.Count("a"));
    }

    [Fact]
    public void Ids_longer_than_the_bound_are_never_bound()
    {
        var table = new TaskBindings(100, 1_000);
        byte[] overlong = Id(new string('x', TaskBindings.MaxIdBytes + 1));
        Assert.False(table.Bind("a", overlong, Alice));
        Assert.Equal(TaskCheck.Unknown, table.Check("a", overlong, Alice));
        byte[] longest = Id(new string('x', TaskBindings.MaxIdBytes));
        Assert.True(table.Bind("a", longest, Alice));
        Assert.Equal(TaskCheck.Owned, table.Check("a", longest, Alice));
    }

    [Fact]
    public void A_caller_past_its_bound_forgets_its_own_oldest_task_and_nobody_elses()
    {
        var table = new TaskBindings(100, 3);
        table.Bind("a", "alice-1"u8, Alice);
        for (int i = 0; i < 4; i++) table.Bind("a", Id($"bob-{i}"), Bob);
        Assert.Equal(TaskCheck.Unknown, table.Check("a", "bob-0"u8, Bob));
        for (int i = 1; i < 4; i++) Assert.Equal(TaskCheck.Owned, table.Check("a", Id($"bob-{i}"), Bob));
        Assert.Equal(TaskCheck.Owned, table.Check("a", "alice-1"u8, Alice));
        Assert.Equal(3, table.CountOf("a", Bob));
        Assert.Equal(1, table.EvictedForCaller);
        Assert.Equal(0, table.EvictedForUpstream);
    }

    [Fact]
    public void An_upstream_past_its_bound_forgets_its_oldest_task()
    {
        var table = new TaskBindings(100, 1_000);
        for (int i = 0; i < 150; i++) table.Bind("a", Id($"t-{i}"), i % 2 == 0 ? Alice : Bob);
        Assert.Equal(100, table.Count("a"));
        Assert.Equal(50, table.EvictedForUpstream);
        for (int i = 0; i < 50; i++) Assert.Equal(TaskCheck.Unknown, table.Check("a", Id($"t-{i}"), i % 2 == 0 ? Alice : Bob));
        for (int i = 50; i < 150; i++) Assert.Equal(TaskCheck.Owned, table.Check("a", Id($"t-{i}"), i % 2 == 0 ? Alice : Bob));
        Assert.Equal(50, table.CountOf("a", Alice));
        // Another upstream's table is its own.
        table.Bind("b", "t-0"u8, Alice);
        Assert.Equal(100, table.Count("a"));
        Assert.Equal(1, table.Count("b"));
    }

    [Fact]
    public void Checking_a_task_allocates_nothing()
    {
        var table = new TaskBindings(100, 1_000);
        byte[] shortId = "786512e2-9e0d-44bd-8f29-789f320fe840"u8.ToArray();
        byte[] longId = Id(new string('y', 900));
        table.Bind("a", shortId, Alice);
        table.Bind("a", longId, Alice);
        void Checks()
        {
            table.Check("a", shortId, Alice);
            table.Check("a", longId, Bob);
            table.Check("a", "unknown"u8, Alice);
            table.Check("z", shortId, Alice);
        }
        // Warmed past the runtime's tier-up first, so the measured loop runs the steady-state code.
        for (int i = 0; i < 2_000; i++) Checks();
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 10_000; i++) Checks(); }));
    }

    [Fact]
    public void The_arguments_bindings_keep_are_bounded_per_upstream_and_freed_as_bindings_are_forgotten()
    {
        int perBinding = TaskCreatingCall.MaxKeptArgumentBytes;
        int fit = (int)(TaskBindings.MaxKeptArgumentBytesPerUpstream / perBinding);
        var table = new TaskBindings(fit + 10, fit + 10);
        TaskCreatingCall Call() => new("tools/call", "refund", new byte[perBinding], false, null);
        for (int i = 0; i < fit; i++) Assert.True(table.Bind("a", Id($"t-{i}"), Alice, call: Call()));
        Assert.Equal(TaskBindings.MaxKeptArgumentBytesPerUpstream, table.KeptArgumentBytes("a"));
        Assert.Equal(0, table.ArgumentsNotKept);

        // Past the budget the binding is made, but without the arguments: withheld, so a rule reading them refuses later.
        Assert.True(table.Bind("a", "over"u8, Alice, call: Call()));
        Assert.Equal(TaskCheck.Owned, table.Check("a", "over"u8, Alice, out TaskBinding? over));
        Assert.Null(over!.Call!.Arguments);
        Assert.True(over.Call.ArgumentsWithheld);
        Assert.Equal("refund", over.Call.Target);
        Assert.Equal(1, table.ArgumentsNotKept);
        Assert.Equal(TaskBindings.MaxKeptArgumentBytesPerUpstream, table.KeptArgumentBytes("a"));
        // Another upstream has a budget of its own.
        Assert.True(table.Bind("b", "t-0"u8, Alice, call: Call()));
        Assert.Equal(perBinding, table.KeptArgumentBytes("b"));

        // Forgetting bindings (here: past maxPerUpstream) gives their bytes back.
        for (int i = 0; i < 10; i++) table.Bind("a", Id($"more-{i}"), Bob);
        Assert.True(table.KeptArgumentBytes("a") < TaskBindings.MaxKeptArgumentBytesPerUpstream);
        Assert.True(table.Bind("a", "fits-again"u8, Bob, call: Call()));
        Assert.Equal(TaskCheck.Owned, table.Check("a", "fits-again"u8, Bob, out TaskBinding? again));
        Assert.NotNull(again!.Call!.Arguments);
    }
}
