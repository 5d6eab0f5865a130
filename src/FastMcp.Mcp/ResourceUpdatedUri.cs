using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// The resource a <c>notifications/resources/updated</c> names: its <c>params.uri</c>, unescaped, so that the gateway can
/// decide the notification as a subscription to that resource. Fail closed, as the listen walk: no <c>params</c> object,
/// a <c>uri</c> that is absent, empty or not a string, one longer than <see cref="ListenResourceSubscriptions.MaxUriBytes"/>
/// as sent, or a member a case-insensitive client reads as <c>uri</c> (<c>"URI"</c>) is unreadable: the gateway would
/// decide on one reading and the client act on another. Allocates nothing.
/// </summary>
public static class ResourceUpdatedUri
{
    /// <summary>The most bytes <see cref="Read"/> writes.</summary>
    public const int MaxUriBytes = ListenResourceSubscriptions.MaxUriBytes;

    private static readonly byte[][] Uri = ["uri"u8.ToArray()];

    /// <param name="message">the notification; <paramref name="paramsRange"/> is its params object (McpResponseView.ParamsRange)</param>
    /// <param name="destination">at least <see cref="MaxUriBytes"/> long</param>
    /// <returns>The length of the URI written to <paramref name="destination"/>; -1 when it cannot be read so.</returns>
    public static int Read(ReadOnlySpan<byte> message, Range paramsRange, Span<byte> destination)
    {
        if (McpCall.IsEmpty(paramsRange)) return -1;
        var reader = new Utf8JsonReader(message[paramsRange], JsonCursor.Options(McpInspector.MaxDepth));
        int length = -1;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return -1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool match = reader.ValueTextEquals("uri"u8);
                if (!match && MemberNameVariant.MayBeReadAs(ref reader, Uri)) return -1;
                reader.Read();
                if (!match)
                {
                    reader.Skip();
                    continue;
                }
                // A second uri (the inspector refuses those already): no single reading.
                if (length >= 0 || reader.TokenType != JsonTokenType.String || reader.ValueSpan.Length > MaxUriBytes) return -1;
                length = reader.CopyString(destination);
                if (length == 0) return -1;
            }
            return length;
        }
        catch (JsonException)
        {
            return -1;
        }
    }
}
