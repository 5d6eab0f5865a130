using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Admin;

/// <summary>The admin listener's views that need a caller's credential.</summary>
internal enum AdminView
{
    Metrics,
    ToolsObserved,
    Approvals,
}

/// <summary>
/// Requests to the admin listener refused for their credential, counted per view and status
/// (fastmcp_admin_access_refused_total{view,status}: 401 no or no valid credential, 403 a valid one of someone not
/// allowed). Anyone who reaches the listener can cause them, so the warning naming the address (and the subject of a
/// 403, never a presented secret) is written at most once per view and interval, the next line saying how many were held back.
/// </summary>
internal sealed class AdminAccessRefusals
{
    private const int Views = 3;
    private readonly long[] _unauthenticated = new long[Views];
    private readonly long[] _forbidden = new long[Views];
    private readonly ThrottledWarning[] _lines = [new(LogRateLimit.IntervalMs), new(LogRateLimit.IntervalMs), new(LogRateLimit.IntervalMs)];

    /// <summary>Counts one refusal with <paramref name="status"/> (401 or 403) and logs <paramref name="describe"/>'s line unless held back.</summary>
    public void Count(AdminView view, int status, string address, Func<string> describe)
    {
        Interlocked.Increment(ref (status == 403 ? _forbidden : _unauthenticated)[(int)view]);
        if (_lines[(int)view].TryTake(out int held))
            Log.Warn($"admin: {Path(view)} from {address} refused with {status}: {describe()}" + LogRateLimit.Held(held));
    }

    public long Refused(AdminView view, int status) => Volatile.Read(ref (status == 403 ? _forbidden : _unauthenticated)[(int)view]);

    public static string Path(AdminView view) => view switch
    {
        AdminView.Metrics => "/metrics",
        AdminView.ToolsObserved => "/tools/observed",
        _ => "/approvals",
    };

    /// <summary>The <c>view</c> label of the metric.</summary>
    public static string Label(AdminView view) => view switch
    {
        AdminView.Metrics => "metrics",
        AdminView.ToolsObserved => "tools_observed",
        _ => "approvals",
    };

    /// <summary>fastmcp_admin_access_refused_total, every view and status (zeros included, so an alert has a series from the start).</summary>
    public void Render(System.Text.StringBuilder sb)
    {
        const string name = "fastmcp_admin_access_refused_total";
        sb.Append("# HELP ").Append(name).Append(" admin listener requests refused for their credential: 401 none or invalid, 403 a caller not allowed the view\n# TYPE ")
            .Append(name).Append(" counter\n");
        for (int v = 0; v < Views; v++)
        {
            sb.Append(name).Append("{view=\"").Append(Label((AdminView)v)).Append("\",status=\"401\"} ").Append(Volatile.Read(ref _unauthenticated[v])).Append('\n');
            sb.Append(name).Append("{view=\"").Append(Label((AdminView)v)).Append("\",status=\"403\"} ").Append(Volatile.Read(ref _forbidden[v])).Append('\n');
        }
    }
}
