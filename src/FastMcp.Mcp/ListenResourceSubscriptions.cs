using System.Buffers;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>What a subscriptions/listen request asks resource updates for: each URI, one at a time.</summary>
public interface IResourceSubscriptionVisitor
{
    /// <summary>One URI of <c>resourceSubscriptions</c>, unescaped. False stops the walk (the listen is refused).</summary>
    bool Visit(scoped ReadOnlySpan<byte> uri);
}

/// <summary>
/// MCP 2026-07-28 drops resources/subscribe: a client subscribes to resource updates in a subscriptions/listen request's
/// <c>params.notifications.resourceSubscriptions</c>, an array of URIs. This walks them, so that each can be decided as
/// a subscription to that resource is. Fail closed: anything the walk cannot read as that array of strings, or a member
/// a case-insensitive server reads as <c>notifications</c> or <c>resourceSubscriptions</c> (<c>"Notifications"</c>), is
/// unreadable, and the listen is refused rather than decided on one reading. It reads a request the inspector has
/// already accepted (valid JSON, no repeated member names): it stops once the array is walked, not at the message's end.
/// </summary>
public static class ListenResourceSubscriptions
{
    /// <summary>Longest subscribed URI read (escaped, as sent): the policy decides no longer name.</summary>
    public const int MaxUriBytes = 1024;
    private static readonly byte[][] Notifications = ["notifications"u8.ToArray()];
    private static readonly byte[][] Subscriptions = ["resourcesubscriptions"u8.ToArray()];

    /// <returns>True when every URI was visited and the visitor kept going; false when the request cannot be read so,
    /// a URI is over 1,024 bytes, or the visitor stopped.</returns>
    public static bool Walk<TVisitor>(in ReadOnlySequence<byte> request, ref TVisitor visitor)
        where TVisitor : IResourceSubscriptionVisitor, allows ref struct
    {
        var reader = new Utf8JsonReader(request, JsonCursor.Options(McpInspector.MaxDepth));
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            Step step = Enter(ref reader, "params"u8, null);
            if (step == Step.Entered) step = Enter(ref reader, "notifications"u8, Notifications);
            // Nothing subscribed when a step is absent; a step that cannot be read refuses the listen.
            return step == Step.Entered ? WalkArray(ref reader, ref visitor) : step == Step.Absent;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private enum Step : byte { Entered, Absent, Unreadable }

    /// <summary>
    /// Moves into the object member <paramref name="name"/> of the object the reader is in (its StartObject read), leaving
    /// the reader on the member's StartObject. Unreadable: the member is not an object (or null), or a member folds to its
    /// name (<paramref name="folded"/>), which a case-insensitive server would read instead.
    /// </summary>
    private static Step Enter(ref Utf8JsonReader reader, ReadOnlySpan<byte> name, byte[][]? folded)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool match = reader.ValueTextEquals(name);
            if (!match && folded is not null && MemberNameVariant.MayBeReadAs(ref reader, folded)) return Step.Unreadable;
            reader.Read();
            if (match)
            {
                if (reader.TokenType == JsonTokenType.StartObject) return Step.Entered;
                return reader.TokenType == JsonTokenType.Null ? Step.Absent : Step.Unreadable;
            }
            reader.Skip();
        }
        return Step.Absent;
    }

    private static bool WalkArray<TVisitor>(ref Utf8JsonReader reader, ref TVisitor visitor)
        where TVisitor : IResourceSubscriptionVisitor, allows ref struct
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool match = reader.ValueTextEquals("resourceSubscriptions"u8);
            if (!match && MemberNameVariant.MayBeReadAs(ref reader, Subscriptions)) return false;
            reader.Read();
            if (!match)
            {
                reader.Skip();
                continue;
            }
            if (reader.TokenType == JsonTokenType.Null) return true;
            if (reader.TokenType != JsonTokenType.StartArray) return false;
            Span<byte> uri = stackalloc byte[MaxUriBytes];
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.String) return false;
                int length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
                if (length > MaxUriBytes) return false;
                if (!visitor.Visit(uri[..reader.CopyString(uri)])) return false;
            }
            return true;
        }
        return true; // no resourceSubscriptions: nothing subscribed
    }
}
