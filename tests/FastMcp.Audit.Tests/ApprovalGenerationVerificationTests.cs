using FastMcp.Audit.Cli;
using FastMcp.Audit.Verification;

namespace FastMcp.Audit.Tests;

/// <summary>
/// fastmcp-verify checks that approvals.stateFile generations (ApprovalState records, type 15) never fall along a chain:
/// a fall with no refused file between means a gateway trusted a state file older than what the chain says was written.
/// </summary>
public sealed class ApprovalGenerationVerificationTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static AuditEvent Written(long generation) => State(true, $"approvals.stateFile generation {generation}: 0 pending approval(s) and 1 open grant(s), about to be written to '/var/lib/fastmcp/approvals.state'");

    private static AuditEvent Carried(long generation, long segment) => State(true, $"approvals.stateFile generation {generation}: the newest written, carried into segment {segment}");

    private static AuditEvent Refused() => State(false, "approvals.stateFile '/var/lib/fastmcp/approvals.state' refused at start: it does not verify: no MAC line; nothing restored (kept as 'x')");

    private static AuditEvent State(bool success, string detail) => new() { Type = AuditEventType.ApprovalState, Success = success, Subject = "fastmcp", Detail = detail };

    /// <summary>One gateway run: opens the chain (a new segment), appends, stops (sealed).</summary>
    private async Task RunAsync(params AuditEvent[] events)
    {
        await using var log = await AuditLog.OpenAsync(_dir.Options());
        foreach (AuditEvent e in events) await log.AppendAsync(e);
    }

    [Fact]
    public async Task Generations_that_grow_or_are_carried_across_restarts_verify()
    {
        await RunAsync(Written(1), Written(2));
        await RunAsync(Carried(2, 2), Written(3), Written(4));

        var (report, _) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Chains[0].Valid, string.Join("; ", report.Chains[0].Errors));
    }

    [Fact]
    public async Task A_generation_lower_than_one_recorded_before_is_an_error_naming_both_records()
    {
        await RunAsync(Written(1), Written(2), Written(3));
        // The next start trusted a file of generation 1 (an older copy put back) and wrote generation 2 again.
        await RunAsync(Written(2));

        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Finding fall = Assert.Single(report.Chains[0].Errors);
        Assert.Equal("approval-generation", fall.Code);
        long second = records.Last(r => r.Type == AuditEventType.ApprovalState).Sequence;
        long third = records.Where(r => r.Type == AuditEventType.ApprovalState).ElementAt(2).Sequence;
        Assert.Equal(second, fall.Sequence);
        Assert.Equal(2, fall.Segment);
        Assert.Contains($"record {second} binds approvals.stateFile generation 2, lower than generation 3 recorded at sequence {third}", fall.Message, StringComparison.Ordinal);

        // The command auditors run says so, and fails.
        var output = new StringWriter();
        int rc = await VerifyCommand.RunAsync([_dir.Segments, "--key", _dir.PublicKey, "--json"], output, new StringWriter());
        Assert.NotEqual(0, rc);
        Assert.Contains("\"approval-generation\"", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lower_generation_right_after_a_refused_state_file_is_not_an_error_but_a_fall_after_it_is()
    {
        await RunAsync(Written(1), Written(5));
        // A start that refused the file continues from what it could see (here: nothing newer than 2).
        await RunAsync(Refused(), Written(3), Written(4));
        await RunAsync(Written(2));

        var (report, _) = await LogReading.VerifyFolderAsync(_dir);
        Finding fall = Assert.Single(report.Chains[0].Errors);
        Assert.Equal("approval-generation", fall.Code);
        Assert.Contains("generation 2, lower than generation 4", fall.Message, StringComparison.Ordinal);
    }
}
