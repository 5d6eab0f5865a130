using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Admin;

/// <summary>Records the admin requests refused over admin.recordedRequestsPerMinute in aggregate, once a minute and at stop.</summary>
internal sealed class AdminRequestRecorder(AdminRequestTrail trail) : PeriodicRecorder(Period)
{
    /// <summary>One budget period: a caller past its budget for a whole minute costs one record a minute.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(60);

    protected override Task RecordPassAsync() => trail.RecordThrottledAsync(Period);
}
