namespace FastMcp.Identity.Tests.Support;

/// <summary>A clock the test moves by hand; timers still run on real time (they only drive background refresh).</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
