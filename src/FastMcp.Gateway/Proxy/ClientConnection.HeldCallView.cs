using System.Buffers;
using System.Runtime.InteropServices;
using FastMcp.Gateway.Stages;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// A call a require_approval rule with a maskProfile stopped: the profile masks it for the caller (the request forwarded once
/// approved or granted, its answer), while its approvers are shown it masked with the default, as without the profile.
/// </summary>
internal sealed partial class ClientConnection
{
    /// <summary>
    /// What approvers are shown of the call (and what its approval binds): the default's request rule is applied in place
    /// exactly as it is to a held call without a profile, the view taken from that, and the request's bytes (body, query,
    /// header fields) put back as sent, for the profile to mask. The digest is therefore the one the call has without a
    /// profile. Null when the default cannot mask the call (a card number it refuses to mask in place): nothing masked could
    /// be shown, and the call is refused as without the profile. Off the hot path: only such held calls come here.
    /// </summary>
    private ApprovalRequestView? DescribeForApprovers(PanMasking defaultMasking, ReadOnlySequence<byte> body)
    {
        byte[] head = _request.RawHead.ToArray();
        byte[] sent = body.ToArray();
        try
        {
            RequestCardOutcome outcome = defaultMasking.ApplyToRequest(_exchange, body, _request, _maskedCopy, out ReadOnlySequence<byte> shown);
            // Under "mask" that outcome means the rest was left unmasked: not something to show.
            if (outcome == RequestCardOutcome.BlockedCard && defaultMasking.RequestMode == RequestCardMode.Mask) return null;
            return new ApprovalHold(this).Describe(shown, shown: true);
        }
        finally
        {
            _request.RestoreRawHead(head);
            ReadOnlySpan<byte> rest = sent;
            foreach (ReadOnlyMemory<byte> segment in body)
            {
                rest[..segment.Length].CopyTo(MemoryMarshal.AsMemory(segment).Span);
                rest = rest[segment.Length..];
            }
            // Found again when the profile masks the request.
            _exchange.RequestCards.Reset();
        }
    }
}
