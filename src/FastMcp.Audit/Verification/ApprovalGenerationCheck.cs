using FastMcp.Audit.Format;

namespace FastMcp.Audit.Verification;

/// <summary>
/// The verifier's rule for ApprovalState records (docs/audit-format.md §5, type 15; §7.2): along a chain, in sequence order,
/// the generation of approvals.stateFile a record binds never falls below the highest one recorded before it, unless a
/// record of a state file refused at start comes between (that start trusted no file and continued from what it could
/// see). A fall means a gateway trusted a state file older than what the chain says was written.
/// </summary>
public sealed class ApprovalGenerationCheck
{
    private long _highest, _highestAt = -1;
    private bool _refusedSince;

    /// <summary>One ApprovalState record in chain order; a finding when its generation breaks the rule.</summary>
    public Finding? Next(long segment, long sequence, ApprovalStateRecord.Reading record)
    {
        if (record.Refusal)
        {
            _refusedSince = true;
            return null;
        }
        if (record.Generation <= 0) return null;
        Finding? finding = null;
        if (record.Generation < _highest && !_refusedSince)
        {
            finding = new Finding("approval-generation",
                $"record {sequence} binds approvals.stateFile generation {record.Generation}, lower than generation {_highest} recorded at sequence {_highestAt} "
                + "with no refused state file between: a gateway trusted a state file older than the chain says was written (an older copy put back and the chain's newer records not seen)",
                segment, sequence);
        }
        if (_refusedSince || record.Generation > _highest)
        {
            _highest = record.Generation;
            _highestAt = sequence;
        }
        _refusedSince = false;
        return finding;
    }
}
