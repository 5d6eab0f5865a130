using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Tests;

/// <summary>
/// Two gateways on one folder split the traffic and the second "recovered" the first's live segment, leaving
/// the chain INVALID for good. The chain folder now has one writer: a second open is refused while the first
/// holds it, and the chain stays valid.
/// </summary>
public sealed class ChainWriterLockTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_second_writer_on_a_live_chain_is_refused_and_the_chain_stays_valid()
    {
        var first = await AuditLog.OpenAsync(_dir.Options());
        var e = new AuditEvent();
        SampleEvents.Fill(e, 1);
        await first.AppendAsync(e);

        var refused = await Assert.ThrowsAsync<AuditChainLockedException>(() => AuditLog.OpenAsync(_dir.Options()));
        Assert.Contains("locked by another running gateway", refused.Message);
        Assert.Contains(_dir.Options().ChainId, refused.Message);

        // The live writer was not disturbed: it goes on appending, and the log verifies after it closes.
        SampleEvents.Fill(e, 2);
        await first.AppendAsync(e);
        await first.DisposeAsync();

        // Released on close: the next writer opens the chain as usual.
        var second = await AuditLog.OpenAsync(_dir.Options());
        await second.DisposeAsync();
        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Equal(2, records.Count(r => r.Type == AuditEventType.AuditStarted));
    }
}
