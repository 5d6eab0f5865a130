namespace FastMcp.Gateway.Approvals;

/// <summary>
/// Whether an approval that admitted a call still stands, as its holder answers it (docs/approvals.md, "Several replicas"):
/// approved (a grant open or past its window, or a held call executed), revoked, or not one it holds for that identity and rule.
/// </summary>
internal enum ApprovalStanding : byte { Unknown, Stands, Revoked }
