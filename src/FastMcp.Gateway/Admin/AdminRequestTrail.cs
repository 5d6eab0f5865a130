using System.Text;
using FastMcp.Audit;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.RateLimiting;
using FastMcp.Gateway.Stages;
using FastMcp.Identity;

namespace FastMcp.Gateway.Admin;

/// <summary>
/// Puts what the admin listener shows on the record (docs/operations.md, "The admin audit trail"): every answer of the
/// approvals API and of /tools/observed becomes an AdminRequest record before it is sent (who, path and query, address,
/// status), so an auditor can say who looked at pending calls' arguments. A decision that applied (200) already has its
/// own record (ApprovalGranted, ApprovalDenied, ApprovalRevoked) and gets none here. Fails closed: an answer that cannot
/// be recorded is not sent (503). Each caller has admin.recordedRequestsPerMinute records a minute (burst as large); past
/// that the answer is replaced by 429, counted, and recorded in aggregate (AdminRequestRecorder): a burst of reads costs
/// one record per caller and interval, and shows nothing unrecorded.
/// </summary>
internal sealed class AdminRequestTrail
{
    private const int TrackedCallers = 256;
    private const int Views = 3;
    private const string SubjectKey = "subject ", AddressKey = "address ";
    private readonly AuditRecording? _audit;
    private readonly TokenBucketTable _budgets;
    private readonly long[] _recorded = new long[Views];
    private readonly long[] _throttled = new long[Views];
    private readonly ThrottledWarning _unrecordedLine = new(LogRateLimit.IntervalMs);

    public AdminRequestTrail(AuditRecording? audit, int perMinute)
    {
        _audit = audit;
        PerMinute = perMinute;
        _budgets = new TokenBucketTable(perMinute, perMinute, TrackedCallers);
    }

    public int PerMinute { get; }

    /// <summary>False without an audit log: nothing is recorded anywhere, admin requests included.</summary>
    public bool Records => _audit is not null;

    /// <summary>
    /// The answer to send for <paramref name="answer"/>: itself once recorded; 429 past the caller's budget; 503 when the audit
    /// log cannot take the record. <paramref name="caller"/> null: a view served without a credential (the budget is the address's).
    /// </summary>
    public async ValueTask<LocalResponse> RecordAsync(AdminView view, Principal? caller, string address, string method, string path, string query,
        string detail, LocalResponse answer)
    {
        if (_audit is null) return answer;
        string key = caller is null ? AddressKey + address : SubjectKey + caller.Subject;
        if (!_budgets.TryTake(key, out int retryAfter))
        {
            Interlocked.Increment(ref _throttled[(int)view]);
            return AdminAccess.Error(429,
                $"over admin.recordedRequestsPerMinute ({PerMinute}): every admin answer is recorded, and this caller's budget is spent; retry after {retryAfter} s",
                $"Retry-After: {retryAfter}\r\n");
        }
        try
        {
            await _audit.RecordAdminRequestAsync(caller, address, method, path, query, answer.Status, detail).ConfigureAwait(false);
        }
        catch (AuditUnavailableException)
        {
            if (_unrecordedLine.TryTake(out int held))
                Log.Error($"audit log unavailable: admin {method} {path} from {address} could not be recorded and was refused with 503" + LogRateLimit.Held(held));
            // Whatever the answer was (a refused decision's own 503 included), nothing it holds is shown unrecorded.
            return AdminAccess.Error(503, "audit log unavailable: this admin request could not be recorded, so it is not answered (nothing was shown or changed)");
        }
        Interlocked.Increment(ref _recorded[(int)view]);
        return answer;
    }

    /// <summary>The ASCII text of a request target's query ('?' included; empty when none).</summary>
    public static string QueryText(ReadOnlySpan<byte> query) => query.IsEmpty ? "" : Encoding.ASCII.GetString(query);

    /// <summary>Records, one per caller, the requests refused over the budget since the last call (AdminRequestRecorder's pass).</summary>
    public async Task RecordThrottledAsync(TimeSpan interval)
    {
        if (_audit is null) return;
        List<(string Key, long Refused)> refused = _budgets.DrainRefused(out long evicted);
        if (evicted > 0) refused.Add((null!, evicted));
        foreach ((string key, long count) in refused)
        {
            string? subject = key is not null && key.StartsWith(SubjectKey, StringComparison.Ordinal) ? key[SubjectKey.Length..] : null;
            string? address = key is not null && key.StartsWith(AddressKey, StringComparison.Ordinal) ? key[AddressKey.Length..] : null;
            try
            {
                await _audit.RecordAdminRequestsThrottledAsync(subject, address, count, interval, PerMinute).ConfigureAwait(false);
            }
            catch (AuditUnavailableException)
            {
                if (_unrecordedLine.TryTake(out int held))
                    Log.Warn($"audit log unavailable: {count} admin request(s) refused over admin.recordedRequestsPerMinute could not be recorded" + LogRateLimit.Held(held));
            }
        }
    }

    /// <summary>fastmcp_admin_requests_recorded_total{view} and fastmcp_admin_requests_throttled_total{view} (zeros included).</summary>
    public void Render(StringBuilder sb)
    {
        Series(sb, "fastmcp_admin_requests_recorded_total", "admin listener answers recorded in the audit log (AdminRequest) before they were sent", _recorded);
        Series(sb, "fastmcp_admin_requests_throttled_total", "admin listener requests refused with 429 over admin.recordedRequestsPerMinute (recorded in aggregate)", _throttled);
    }

    private static void Series(StringBuilder sb, string name, string help, long[] counts)
    {
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(" counter\n");
        foreach (AdminView view in (ReadOnlySpan<AdminView>)[AdminView.Approvals, AdminView.ToolsObserved])
            sb.Append(name).Append("{view=\"").Append(AdminAccessRefusals.Label(view)).Append("\"} ").Append(Volatile.Read(ref counts[(int)view])).Append('\n');
    }
}
