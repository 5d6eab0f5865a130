using System.Buffers;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Looks at a JSON-RPC message from an upstream (a JSON body, or one SSE event's data) for the gateway: response
/// or server request/notification, its id, whether it is an error, and for initialize results the negotiated
/// protocol version. Same rules as <see cref="McpInspector"/>: the whole message is validated, and a message a
/// lenient client could read otherwise is not viewed (a case or fold variant of a name read here, such as
/// <c>"METHOD"</c> or <c>"Result"</c>, and anywhere in it a member named twice, also apart from letter case, or a
/// name holding a control character, checked in the view's one walk): what the gateway filters, masks or records by
/// is what every client reads. Zero allocation.
/// </summary>
public static class McpResponseInspector
{
    private static readonly JsonReaderOptions ReaderOptions = JsonCursor.Options(McpInspector.MaxDepth);

    /// <summary>False for empty data (an SSE priming event), broken JSON, or a message that is not JSON-RPC 2.0.</summary>
    public static bool TryInspect(in ReadOnlySequence<byte> json, out McpResponseView view) => Inspect(json, out view, utf8Checked: false);

    /// <summary>
    /// <see cref="TryInspect"/> for bytes the caller has already found to be valid UTF-8 as a whole (the gateway checks every
    /// answer body and event as text before it reads one): the same reading, without validating the UTF-8 a second time.
    /// </summary>
    public static bool TryInspectValidUtf8(in ReadOnlySequence<byte> json, out McpResponseView view) => Inspect(json, out view, utf8Checked: true);

    /// <summary>
    /// The view as it was taken before the member-name rule moved into its walk: the message walked without it, then the
    /// standalone <see cref="DuplicateMemberScan"/> over the whole of it. Same answer as <see cref="TryInspect"/> (the
    /// tests hold the two to that); kept as their oracle and as the benchmark's "before".
    /// </summary>
    internal static bool TryInspectInTwoWalks(in ReadOnlySequence<byte> json, out McpResponseView view)
    {
        var idle = MemberNameTally.Idle();
        if (!Inspect(json, out view, utf8Checked: false, ref idle) || DuplicateMemberScan.Find(json) != MemberNameClash.None)
        {
            view = default;
            return false;
        }
        return true;
    }

    private static bool Inspect(in ReadOnlySequence<byte> json, out McpResponseView view, bool utf8Checked)
    {
        // Every token of the view's one walk passes the tally: no object, read or stepped over, escapes the name rule.
        var names = new MemberNameTally(fold: true);
        try
        {
            if (!Inspect(json, out view, utf8Checked, ref names) || names.Clashed)
            {
                view = default;
                return false;
            }
            return true;
        }
        finally
        {
            names.Dispose();
        }
    }

    private static bool Inspect(in ReadOnlySequence<byte> json, out McpResponseView view, bool utf8Checked, ref MemberNameTally names)
    {
        view = default;
        if (json.Length > int.MaxValue || !JsonCursor.HasContent(json) || (!utf8Checked && !Utf8Check.IsValid(json)))
        {
            return false;
        }
        var reader = new Utf8JsonReader(json, ReaderOptions);
        try
        {
            if (!ReadMessage(ref reader, ref view, ref names) || reader.Read())
            {
                view = default;
                return false;
            }
            return true;
        }
        catch (JsonException)
        {
            view = default;
            return false;
        }
        catch (InvalidOperationException)
        {
            view = default;
            return false;
        }
    }

    private static bool ReadMessage(ref Utf8JsonReader reader, ref McpResponseView view, ref MemberNameTally names)
    {
        if (!Next(ref reader, ref names))
        {
            return false;
        }
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            view.Kind = McpMessageKind.Batch;
            return Skip(ref reader, ref names);
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        Member seen = Member.None;
        bool jsonRpcOk = false, idNull = false;
        while (true)
        {
            if (!Next(ref reader, ref names))
            {
                return false;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }
            Member member = MemberOf(ref reader);
            if ((seen & member) != 0 || (member == Member.None && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.Envelope)))
            {
                return false;
            }
            seen |= member;
            if (!Next(ref reader, ref names))
            {
                return false;
            }
            switch (member)
            {
                case Member.JsonRpc:
                    jsonRpcOk = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("2.0"u8);
                    break;
                case Member.Id:
                    if (reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
                    {
                        view.IdRange = JsonCursor.ScalarRange(ref reader);
                    }
                    else if (reader.TokenType == JsonTokenType.Null)
                    {
                        idNull = true;
                    }
                    else
                    {
                        return false;
                    }
                    break;
                case Member.Method:
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        return false;
                    }
                    view.MethodRange = JsonCursor.ScalarRange(ref reader);
                    view.Method = JsonCursor.ParseMethod(ref reader);
                    break;
                case Member.Result:
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        if (!ReadResult(ref reader, ref view, ref names))
                        {
                            return false;
                        }
                        continue;
                    }
                    break;
                case Member.Error:
                    if (reader.TokenType != JsonTokenType.StartObject || !ReadError(ref reader, ref view, ref names))
                    {
                        return false;
                    }
                    continue;
                case Member.Params:
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        int paramsStart = (int)reader.TokenStartIndex;
                        if (!ReadParams(ref reader, ref view, ref names))
                        {
                            return false;
                        }
                        view.ParamsRange = new Range(paramsStart, (int)reader.BytesConsumed);
                        continue;
                    }
                    break;
            }
            if (!Skip(ref reader, ref names))
            {
                return false;
            }
        }

        if (!jsonRpcOk)
        {
            return false;
        }
        bool hasMethod = (seen & Member.Method) != 0, hasResult = (seen & Member.Result) != 0, hasError = (seen & Member.Error) != 0;
        bool hasId = (seen & Member.Id) != 0;
        if (hasMethod)
        {
            if (hasResult || hasError || idNull)
            {
                return false;
            }
            view.Kind = hasId ? McpMessageKind.Request : McpMessageKind.Notification;
            if (view.Method != McpMethod.NotificationsProgress)
            {
                view.ProgressTokenRange = default;
            }
            return true;
        }
        view.ProgressTokenRange = default;
        if (hasResult == hasError || !hasId || (idNull && hasResult))
        {
            return false;
        }
        view.Kind = hasResult ? McpMessageKind.Response : McpMessageKind.ErrorResponse;
        return true;
    }

    private static bool ReadResult(ref Utf8JsonReader reader, ref McpResponseView view, ref MemberNameTally names)
    {
        while (true)
        {
            if (!Next(ref reader, ref names))
            {
                return false;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return true;
            }
            int which = reader.ValueTextEquals("protocolVersion"u8) ? 1
                : reader.ValueTextEquals("resultType"u8) ? 2
                : reader.ValueTextEquals("serverInfo"u8) ? 3
                : reader.ValueTextEquals("_meta"u8) ? 4 : 0;
            if ((which == 0 && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.Result)) || !Next(ref reader, ref names))
            {
                return false;
            }
            if (which is 1 or 2 && reader.TokenType == JsonTokenType.String)
            {
                if (which == 1) view.ProtocolVersionRange = JsonCursor.ScalarRange(ref reader);
                else view.ResultTypeRange = JsonCursor.ScalarRange(ref reader);
                continue;
            }
            if (which is 3 or 4 && reader.TokenType == JsonTokenType.StartObject)
            {
                bool ok = which == 3 ? ReadImplementation(ref reader, ref view, ref names) : ReadResultMeta(ref reader, ref view, ref names);
                if (!ok)
                {
                    return false;
                }
                continue;
            }
            if (!Skip(ref reader, ref names))
            {
                return false;
            }
        }
    }

    private static bool ReadResultMeta(ref Utf8JsonReader reader, ref McpResponseView view, ref MemberNameTally names)
    {
        while (true)
        {
            if (!Next(ref reader, ref names))
            {
                return false;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return true;
            }
            bool isServerInfo = reader.ValueTextEquals("io.modelcontextprotocol/serverInfo"u8);
            if ((!isServerInfo && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.ResultMeta)) || !Next(ref reader, ref names))
            {
                return false;
            }
            // serverInfo in the result itself (initialize) wins over the _meta copy.
            if (isServerInfo && reader.TokenType == JsonTokenType.StartObject && McpCall.IsEmpty(view.ServerInfoNameRange))
            {
                if (!ReadImplementation(ref reader, ref view, ref names))
                {
                    return false;
                }
                continue;
            }
            if (!Skip(ref reader, ref names))
            {
                return false;
            }
        }
    }

    private static bool ReadImplementation(ref Utf8JsonReader reader, ref McpResponseView view, ref MemberNameTally names)
    {
        while (true)
        {
            if (!Next(ref reader, ref names))
            {
                return false;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return true;
            }
            int which = reader.ValueTextEquals("name"u8) ? 1 : reader.ValueTextEquals("version"u8) ? 2 : 0;
            if ((which == 0 && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.Implementation)) || !Next(ref reader, ref names))
            {
                return false;
            }
            if (which != 0 && reader.TokenType == JsonTokenType.String)
            {
                if (which == 1) view.ServerInfoNameRange = JsonCursor.ScalarRange(ref reader);
                else view.ServerInfoVersionRange = JsonCursor.ScalarRange(ref reader);
                continue;
            }
            if (!Skip(ref reader, ref names))
            {
                return false;
            }
        }
    }

    private static bool ReadError(ref Utf8JsonReader reader, ref McpResponseView view, ref MemberNameTally names)
    {
        while (true)
        {
            if (!Next(ref reader, ref names))
            {
                return false;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return true;
            }
            int which = reader.ValueTextEquals("code"u8) ? 1 : reader.ValueTextEquals("message"u8) ? 2 : 0;
            if ((which == 0 && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.Error)) || !Next(ref reader, ref names))
            {
                return false;
            }
            if (which == 1 && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int code))
            {
                view.ErrorCode = code;
            }
            else if (which == 2 && reader.TokenType == JsonTokenType.String)
            {
                view.ErrorMessageRange = JsonCursor.ScalarRange(ref reader);
            }
            else if (!Skip(ref reader, ref names))
            {
                return false;
            }
        }
    }

    private static bool ReadParams(ref Utf8JsonReader reader, ref McpResponseView view, ref MemberNameTally names)
    {
        while (true)
        {
            if (!Next(ref reader, ref names))
            {
                return false;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return true;
            }
            bool isToken = reader.ValueTextEquals("progressToken"u8);
            if ((!isToken && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.ServerParams)) || !Next(ref reader, ref names))
            {
                return false;
            }
            if (isToken && reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
            {
                view.ProgressTokenRange = JsonCursor.ScalarRange(ref reader);
            }
            else if (!Skip(ref reader, ref names))
            {
                return false;
            }
        }
    }

    private static Member MemberOf(ref Utf8JsonReader reader)
    {
        if (reader.ValueTextEquals("jsonrpc"u8)) return Member.JsonRpc;
        if (reader.ValueTextEquals("id"u8)) return Member.Id;
        if (reader.ValueTextEquals("result"u8)) return Member.Result;
        if (reader.ValueTextEquals("error"u8)) return Member.Error;
        if (reader.ValueTextEquals("method"u8)) return Member.Method;
        if (reader.ValueTextEquals("params"u8)) return Member.Params;
        return Member.None;
    }

    private static bool Next(ref Utf8JsonReader reader, ref MemberNameTally names) =>
        JsonCursor.Next(ref reader, McpInspector.MaxDepth, ref names) == McpInspectError.None;

    private static bool Skip(ref Utf8JsonReader reader, ref MemberNameTally names) =>
        JsonCursor.SkipValue(ref reader, McpInspector.MaxDepth, ref names) == McpInspectError.None;

    [Flags]
    private enum Member : byte
    {
        None = 0, JsonRpc = 1, Id = 2, Result = 4, Error = 8, Method = 16, Params = 32,
    }
}
