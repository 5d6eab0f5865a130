namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// The policy's clock, moved by the test: a rule's "time" condition sees only this. The engine asks it the time and
/// never sets timers on it, so a settable now is all it needs.
/// </summary>
internal sealed class ManualPolicyClock(DateTimeOffset start) : TimeProvider
{
    private long _utcTicks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _utcTicks, by.Ticks);
}
