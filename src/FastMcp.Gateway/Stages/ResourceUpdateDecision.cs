using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Stages;

/// <summary>What the policy made of a resource update: relay it, withhold it (the stream goes on), or it could not be read.</summary>
internal enum ResourceUpdateVerdict : byte { Allowed, Denied, Unreadable }

/// <summary>
/// A notifications/resources/updated an upstream sends the client is decided as a resources/subscribe of its params.uri
/// (normalized as a subscribe's URI is) by the caller whose stream carries it, under the client rules in force
/// (docs/policy.md "Resource update notifications"): a subscription made before a deny rule, or one never made (an
/// upstream may push updates on a listen stream for anything), must not keep telling the caller about that resource.
/// Allocates nothing.
/// </summary>
internal static class ResourceUpdateDecision
{
    /// <summary>True for the one notification decided here; every other event costs this compare of the method already read.</summary>
    public static bool Applies(in McpResponseView view) => view.Method == McpMethod.NotificationsResourcesUpdated;

    /// <summary>
    /// True when a JSON-RPC batch (2025-03-26) holds a resource update, or a member that cannot be read as a message (it
    /// might be one): batches are not taken apart to decide their members, so such a batch is withheld whole. Only batches
    /// pay this; they are rare.
    /// </summary>
    public static bool BatchMayHoldUpdate(ReadOnlyMemory<byte> batch)
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
    /// Decides the update on the message as the upstream sent it (<paramref name="upstreamEvent"/>; a stage may have masked or
    /// re-framed <paramref name="relayedEvent"/> since, whose JSON is <paramref name="json"/> with <paramref name="view"/>): the
    /// subscription was decided on what the client sent, unmasked. <paramref name="joined"/> is scratch for re-reading it.
    /// </summary>
    public static ResourceUpdateVerdict Decide(PolicyEngine engine, Principal principal, ReadOnlyMemory<byte> relayedEvent, ReadOnlyMemory<byte> json,
        in McpResponseView view, ReadOnlyMemory<byte> upstreamEvent, PooledBufferWriter joined, string? upstream, out PolicyDecision decision)
    {
        decision = default;
        ReadOnlyMemory<byte> upstreamJson = json;
        McpResponseView upstreamView = view;
        if (!upstreamEvent.Span.SequenceEqual(relayedEvent.Span)
            && (StreamEventMessage.Read(upstreamEvent, joined, out upstreamJson, out upstreamView) != StreamEventContent.Message || !Applies(upstreamView)))
        {
            return ResourceUpdateVerdict.Unreadable;
        }
        Span<byte> uri = stackalloc byte[ResourceUpdatedUri.MaxUriBytes];
        int length = ResourceUpdatedUri.Read(upstreamJson.Span, upstreamView.ParamsRange, uri);
        if (length < 0) return ResourceUpdateVerdict.Unreadable;
        decision = McpCallDecision.Decide(engine, principal, "resources/subscribe"u8, uri[..length], default, upstream);
        return decision.Action == PolicyAction.Allow ? ResourceUpdateVerdict.Allowed : ResourceUpdateVerdict.Denied;
    }
}
