using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Stages;

/// <summary>What the policy made of a decided server notification: relay it, withhold it (the stream goes on), or it could not be read.</summary>
internal enum ServerNotificationVerdict : byte { Allowed, Denied, Unreadable }

/// <summary>
/// A server notification that only a request of the caller's should bring is decided as that request, by the caller whose
/// stream carries it, under the client rules in force (docs/policy.md "Server notifications decided as the request that
/// enables them"): a notifications/resources/updated as a resources/subscribe of its params.uri (normalized as a subscribe's
/// URI is), a notifications/message (server log) as a logging/setLevel. A subscription or level set before a deny rule, or
/// never made (servers push both unasked), must not keep telling the caller what the rules now refuse. Allocates nothing.
/// </summary>
internal static class ServerNotificationDecision
{
    /// <summary>
    /// True for the notifications decided here; every other event costs this test of the method already read (the two are
    /// adjacent in <see cref="McpMethod"/>, so the JIT makes it one range compare).
    /// </summary>
    public static bool Applies(in McpResponseView view) => view.Method is McpMethod.NotificationsResourcesUpdated or McpMethod.NotificationsMessage;

    /// <summary>
    /// True when a JSON-RPC batch (2025-03-26) holds a decided notification, or a member that cannot be read as a message (it
    /// might be one): batches are not taken apart to decide their members, so such a batch is withheld whole. Only batches
    /// pay this; they are rare.
    /// </summary>
    public static bool BatchMayHoldDecided(ReadOnlyMemory<byte> batch)
    {
        Span<Range> members = stackalloc Range[McpBatch.MaxMembers];
        if (McpBatch.LocateMembers(batch, members, out int count) != McpBatchError.None) return true;
        for (int i = 0; i < count; i++)
        {
            if (!McpResponseInspector.TryInspect(new System.Buffers.ReadOnlySequence<byte>(batch[members[i]]), out McpResponseView member)
                || member.Kind == McpMessageKind.Batch || Applies(member)) return true;
        }
        return false;
    }

    /// <summary>
    /// Decides the notification on the message as the upstream sent it (<paramref name="upstreamEvent"/>; a stage may have masked or
    /// re-framed <paramref name="relayedEvent"/> since, whose JSON is <paramref name="json"/> with <paramref name="view"/>): the
    /// enabling request is decided on what the client sent, unmasked. <paramref name="joined"/> is scratch for re-reading it.
    /// <paramref name="address"/> is the stream owner's client address, as the enabling request would come from it.
    /// </summary>
    public static ServerNotificationVerdict Decide(PolicyEngine engine, Principal principal, ReadOnlyMemory<byte> relayedEvent, ReadOnlyMemory<byte> json,
        in McpResponseView view, ReadOnlyMemory<byte> upstreamEvent, PooledBufferWriter joined, string? upstream, System.Net.IPAddress? address, out PolicyDecision decision)
    {
        decision = default;
        ReadOnlyMemory<byte> upstreamJson = json;
        McpResponseView upstreamView = view;
        if (!upstreamEvent.Span.SequenceEqual(relayedEvent.Span)
            && (StreamEventMessage.Read(upstreamEvent, joined, out upstreamJson, out upstreamView) != StreamEventContent.Message || upstreamView.Method != view.Method))
        {
            return ServerNotificationVerdict.Unreadable;
        }
        if (upstreamView.Method == McpMethod.NotificationsMessage)
        {
            // A log message names nothing: decided as the caller's logging/setLevel would be.
            decision = McpCallDecision.Decide(engine, principal, "logging/setLevel"u8, default, default, upstream, default, address);
        }
        else
        {
            Span<byte> uri = stackalloc byte[ResourceUpdatedUri.MaxUriBytes];
            int length = ResourceUpdatedUri.Read(upstreamJson.Span, upstreamView.ParamsRange, uri);
            if (length < 0) return ServerNotificationVerdict.Unreadable;
            decision = McpCallDecision.Decide(engine, principal, "resources/subscribe"u8, uri[..length], default, upstream, default, address);
        }
        return decision.Action == PolicyAction.Allow ? ServerNotificationVerdict.Allowed : ServerNotificationVerdict.Denied;
    }
}
