using System.Buffers;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Reads one JSON-RPC message from a complete body with <see cref="Utf8JsonReader"/> (no DOM, no copies) and
/// reports where the parts the gateway decides on are. The whole body is validated, not just the members we
/// read, so the gateway never forwards something it did not fully understand. Zero allocation for valid input.
/// One walk: every token, including those of the values it steps over (arguments, results, error data), passes a
/// <see cref="MemberNameTally"/> that holds every object to the member-name rule of <see cref="DuplicateMemberScan"/>.
/// Depth, duplicates, UTF-8 and surrogate problems are found without exceptions; JSON syntax errors cost one
/// exception inside the reader (that is the reader's contract, and it is caught here).
/// </summary>
public static class McpInspector
{
    /// <summary>Deepest nesting of objects/arrays accepted anywhere in a message.</summary>
    public const int MaxDepth = 64;

    private static readonly JsonReaderOptions ReaderOptions = JsonCursor.Options(MaxDepth);

    /// <summary>Parses one JSON-RPC message (or notes a batch) from a complete body. Zero allocation.</summary>
    public static McpInspectError Inspect(in ReadOnlySequence<byte> body, out McpCall call)
    {
        call = default;
        McpInspectError unreadable = CheckBody(body);
        if (unreadable != McpInspectError.None)
        {
            return unreadable;
        }
        var reader = new Utf8JsonReader(body, ReaderOptions);
        McpInspectError error = WalkWithNameTally(ref reader, ref call, out bool clashed);
        // A folded clash is named (exact repeat or case variant) by a second reading, of a message about to be refused.
        return error == McpInspectError.None && clashed ? RefuseClashingNames(DuplicateMemberScan.Name(body), ref call) : error;
    }

    /// <summary>Parses one JSON-RPC message (or notes a batch) from a contiguous body. Zero allocation.</summary>
    public static McpInspectError Inspect(ReadOnlySpan<byte> body, out McpCall call)
    {
        call = default;
        if (body.IndexOfAnyExcept(" \t\r\n"u8) < 0)
        {
            return McpInspectError.EmptyBody;
        }
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            return McpInspectError.InvalidJson;
        }
        var reader = new Utf8JsonReader(body, ReaderOptions);
        McpInspectError error = WalkWithNameTally(ref reader, ref call, out bool clashed);
        return error == McpInspectError.None && clashed ? RefuseClashingNames(DuplicateMemberScan.Name(body), ref call) : error;
    }

    /// <summary>The inspector's one walk, fed to the member-name tally: its verdict, and whether a folded name clash was seen.</summary>
    private static McpInspectError WalkWithNameTally(ref Utf8JsonReader reader, ref McpCall call, out bool clashed)
    {
        var names = new MemberNameTally(fold: true);
        try
        {
            McpInspectError error = InspectGuarded(ref reader, ref call, ref names);
            clashed = names.Clashed;
            return error;
        }
        finally
        {
            // Given back before the caller's second reading, which rents the same sizes: with one rented at a time the
            // thread's own pool slot always serves them (two at once could fall to a per-core stack and allocate).
            names.Dispose();
        }
    }

    /// <summary>
    /// The reading as it was before the member-name rule moved into the walk: the message walked without it, then the
    /// standalone <see cref="DuplicateMemberScan"/> over the whole of it. Same verdicts as <see cref="Inspect(in ReadOnlySequence{byte}, out McpCall)"/>
    /// (the tests hold the two to that); kept as their oracle and as the benchmark's "before".
    /// </summary>
    internal static McpInspectError InspectInTwoWalks(in ReadOnlySequence<byte> body, out McpCall call)
    {
        call = default;
        McpInspectError unreadable = CheckBody(body);
        if (unreadable != McpInspectError.None)
        {
            return unreadable;
        }
        var reader = new Utf8JsonReader(body, ReaderOptions);
        var idle = MemberNameTally.Idle();
        McpInspectError error = InspectGuarded(ref reader, ref call, ref idle);
        return error == McpInspectError.None ? RefuseClashingNames(DuplicateMemberScan.Find(body), ref call) : error;
    }

    /// <summary>What is wrong with a body before its JSON is read: too long, empty, not UTF-8.</summary>
    private static McpInspectError CheckBody(in ReadOnlySequence<byte> body)
    {
        if (body.Length > int.MaxValue)
        {
            return McpInspectError.InvalidJson;
        }
        if (!JsonCursor.HasContent(body))
        {
            return McpInspectError.EmptyBody;
        }
        return Utf8Check.IsValid(body) ? McpInspectError.None : McpInspectError.InvalidJson;
    }


    /// <summary>
    /// The member-name check alone, on well-formed JSON (for tools that read a request another way, such as
    /// <c>fastmcp policy test</c>): <see cref="McpInspectError.DuplicateMember"/> or
    /// <see cref="McpInspectError.CaseVariantMember"/> when the gateway would refuse the message for its member names,
    /// else None.
    /// </summary>
    public static McpInspectError FindClashingMemberNames(ReadOnlySpan<byte> json) => DuplicateMemberScan.Find(json) switch
    {
        MemberNameClash.Duplicate => McpInspectError.DuplicateMember,
        MemberNameClash.CaseVariant => McpInspectError.CaseVariantMember,
        _ => McpInspectError.None,
    };

    private static McpInspectError RefuseClashingNames(MemberNameClash clash, ref McpCall call)
    {
        if (clash == MemberNameClash.None) return McpInspectError.None;
        call = default;
        return clash == MemberNameClash.Duplicate ? McpInspectError.DuplicateMember : McpInspectError.CaseVariantMember;
    }

    /// <summary>
    /// Copies (unescaping JSON string escapes) the string token at <paramref name="stringToken"/> into
    /// <paramref name="destination"/>; returns bytes written, or -1 when it does not fit or the range is not a
    /// string token. For names, methods, URIs.
    /// </summary>
    public static int CopyUnescaped(in ReadOnlySequence<byte> body, Range stringToken, Span<byte> destination)
    {
        if (!TrySliceToken(body.Length, stringToken, out int offset, out int length))
        {
            return -1;
        }
        var reader = new Utf8JsonReader(body.Slice(offset, length), ReaderOptions);
        return CopyStringToken(ref reader, destination);
    }

    /// <summary>Span form of <see cref="CopyUnescaped(in ReadOnlySequence{byte}, Range, Span{byte})"/>.</summary>
    public static int CopyUnescaped(ReadOnlySpan<byte> body, Range stringToken, Span<byte> destination)
    {
        if (!TrySliceToken(body.Length, stringToken, out int offset, out int length))
        {
            return -1;
        }
        var reader = new Utf8JsonReader(body.Slice(offset, length), ReaderOptions);
        return CopyStringToken(ref reader, destination);
    }

    /// <summary>
    /// True when the string token at <paramref name="stringToken"/>, unescaped, equals <paramref name="expected"/>
    /// byte for byte. An absent (empty) range equals nothing. No allocation below 1 KiB tokens; above, a pooled buffer.
    /// </summary>
    public static bool UnescapedEquals(in ReadOnlySequence<byte> body, Range stringToken, ReadOnlySpan<byte> expected)
    {
        if (!TrySliceToken(body.Length, stringToken, out int offset, out int length))
        {
            return false;
        }
        var reader = new Utf8JsonReader(body.Slice(offset, length), ReaderOptions);
        try
        {
            // ValueTextEquals unescapes as it compares (stack or pooled scratch inside the reader).
            return reader.Read() && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(expected);
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool TrySliceToken(long bodyLength, Range token, out int offset, out int length)
    {
        offset = 0;
        length = 0;
        if (token.Start.IsFromEnd || token.End.IsFromEnd)
        {
            return false;
        }
        offset = token.Start.Value;
        int end = token.End.Value;
        length = end - offset;
        return length >= 2 && end <= bodyLength;
    }

    private static int CopyStringToken(ref Utf8JsonReader reader, Span<byte> destination)
    {
        byte[]? rented = null;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.String)
            {
                return -1;
            }
            int raw = JsonCursor.ValueLength(ref reader);
            if (destination.Length >= raw)
            {
                // Unescaped text is never longer than its escaped form.
                return reader.CopyString(destination);
            }
            if (!reader.ValueIsEscaped)
            {
                return -1;
            }
            Span<byte> scratch = raw <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(raw));
            int written = reader.CopyString(scratch);
            if (written > destination.Length)
            {
                return -1;
            }
            scratch[..written].CopyTo(destination);
            return written;
        }
        catch (JsonException)
        {
            return -1;
        }
        catch (InvalidOperationException)
        {
            // Escapes that decode to invalid UTF-16 (lone surrogates).
            return -1;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static McpInspectError InspectGuarded(ref Utf8JsonReader reader, ref McpCall call, ref MemberNameTally names)
    {
        try
        {
            McpInspectError error = InspectMessage(ref reader, ref call, ref names);
            if (error != McpInspectError.None)
            {
                call = default;
            }
            return error;
        }
        catch (JsonException)
        {
            call = default;
            return McpInspectError.InvalidJson;
        }
        catch (InvalidOperationException)
        {
            // The reader throws this when an escape decodes to invalid UTF-16.
            call = default;
            return McpInspectError.InvalidJson;
        }
    }

    private static McpInspectError InspectMessage(ref Utf8JsonReader reader, ref McpCall call, ref MemberNameTally names)
    {
        McpInspectError error = JsonCursor.Next(ref reader, MaxDepth, ref names);
        if (error != McpInspectError.None)
        {
            return error;
        }
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            error = JsonCursor.SkipValue(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
            call.Kind = McpMessageKind.Batch;
            return EnsureEnd(ref reader);
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            // Still read to the end so that "1 2" is reported as broken JSON rather than a scalar.
            error = EnsureEnd(ref reader);
            return error != McpInspectError.None ? error : McpInspectError.NotAnObject;
        }

        var message = new MessageParts();
        error = ReadEnvelope(ref reader, ref message, ref call, ref names);
        if (error != McpInspectError.None)
        {
            return error;
        }
        error = EnsureEnd(ref reader);
        if (error != McpInspectError.None)
        {
            return error;
        }
        return Classify(ref message, ref call);
    }

    private static McpInspectError EnsureEnd(ref Utf8JsonReader reader) =>
        reader.Read() ? McpInspectError.InvalidJson : McpInspectError.None;

    /// <summary>Reads the top-level members; positions land in <paramref name="call"/>, facts in <paramref name="message"/>.</summary>
    private static McpInspectError ReadEnvelope(ref Utf8JsonReader reader, ref MessageParts message, ref McpCall call, ref MemberNameTally names)
    {
        while (true)
        {
            McpInspectError error = JsonCursor.Next(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return McpInspectError.None;
            }

            Seen member = TopLevelMember(ref reader);
            if (member == Seen.None && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.Envelope))
            {
                return McpInspectError.CaseVariantMember;
            }
            if (member != Seen.None)
            {
                if ((message.Seen & member) != 0)
                {
                    return McpInspectError.DuplicateMember;
                }
                message.Seen |= member;
            }
            error = JsonCursor.Next(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }

            switch (member)
            {
                case Seen.JsonRpc:
                    message.JsonRpcOk = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("2.0"u8);
                    break;
                case Seen.Method:
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        call.MethodRange = JsonCursor.ScalarRange(ref reader);
                        call.MethodHasEscapes = reader.ValueIsEscaped;
                        call.Method = JsonCursor.ParseMethod(ref reader);
                        call.IsTasksMethod = IsTasksMethod(ref reader, call.Method);
                        message.MethodOk = true;
                    }
                    break;
                case Seen.Id:
                    if (reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
                    {
                        call.IdRange = JsonCursor.ScalarRange(ref reader);
                    }
                    else
                    {
                        message.IdNull = reader.TokenType == JsonTokenType.Null;
                        message.IdBad = !message.IdNull;
                    }
                    break;
                case Seen.Params:
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        error = ReadParams(ref reader, ref message, ref names);
                        if (error != McpInspectError.None)
                        {
                            return error;
                        }
                        continue;
                    }
                    message.ParamsBad = true;
                    break;
            }
            error = JsonCursor.SkipValue(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
        }
    }

    private static Seen TopLevelMember(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            // Fast path for the common case: dispatch on length, one comparison.
            ReadOnlySpan<byte> name = reader.ValueSpan;
            return name.Length switch
            {
                7 when name.SequenceEqual("jsonrpc"u8) => Seen.JsonRpc,
                6 when name.SequenceEqual("method"u8) => Seen.Method,
                6 when name.SequenceEqual("params"u8) => Seen.Params,
                6 when name.SequenceEqual("result"u8) => Seen.Result,
                2 when name.SequenceEqual("id"u8) => Seen.Id,
                5 when name.SequenceEqual("error"u8) => Seen.Error,
                _ => Seen.None,
            };
        }
        if (reader.ValueTextEquals("jsonrpc"u8)) return Seen.JsonRpc;
        if (reader.ValueTextEquals("method"u8)) return Seen.Method;
        if (reader.ValueTextEquals("id"u8)) return Seen.Id;
        if (reader.ValueTextEquals("params"u8)) return Seen.Params;
        if (reader.ValueTextEquals("result"u8)) return Seen.Result;
        if (reader.ValueTextEquals("error"u8)) return Seen.Error;
        return Seen.None;
    }

    /// <summary>Reads <c>params</c> (current token: its StartObject); ends on its EndObject.</summary>
    private static McpInspectError ReadParams(ref Utf8JsonReader reader, ref MessageParts message, ref MemberNameTally names)
    {
        ParamsMember seen = ParamsMember.None;
        while (true)
        {
            McpInspectError error = JsonCursor.Next(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return McpInspectError.None;
            }

            ParamsMember member = ParamsMemberOf(ref reader);
            if (member == ParamsMember.None && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.RequestParams))
            {
                return McpInspectError.CaseVariantMember;
            }
            if (member != ParamsMember.None)
            {
                if ((seen & member) != 0)
                {
                    return McpInspectError.DuplicateMember;
                }
                seen |= member;
            }
            error = JsonCursor.Next(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }

            switch (member)
            {
                case ParamsMember.Name:
                    message.NameBad = reader.TokenType != JsonTokenType.String;
                    if (!message.NameBad)
                    {
                        message.Name = JsonCursor.ScalarRange(ref reader);
                        message.NameEscaped = reader.ValueIsEscaped;
                    }
                    break;
                case ParamsMember.Uri:
                    message.UriBad = reader.TokenType != JsonTokenType.String;
                    if (!message.UriBad)
                    {
                        message.Uri = JsonCursor.ScalarRange(ref reader);
                        message.UriEscaped = reader.ValueIsEscaped;
                    }
                    break;
                case ParamsMember.TaskId:
                    message.TaskIdBad = reader.TokenType != JsonTokenType.String;
                    if (!message.TaskIdBad) message.TaskId = JsonCursor.ScalarRange(ref reader);
                    break;
                case ParamsMember.RequestId:
                    if (reader.TokenType is JsonTokenType.String or JsonTokenType.Number) message.RequestId = JsonCursor.ScalarRange(ref reader);
                    break;
                case ParamsMember.ProtocolVersion:
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        message.InitializeVersion = JsonCursor.ScalarRange(ref reader);
                    }
                    break;
                case ParamsMember.Arguments:
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        error = JsonCursor.ContainerRange(ref reader, MaxDepth, ref names, out message.Arguments);
                        if (error != McpInspectError.None)
                        {
                            return error;
                        }
                        continue;
                    }
                    message.ArgumentsBad = true;
                    break;
                case ParamsMember.ClientInfo:
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        error = ReadImplementation(ref reader, ref names, out message.ParamsClientName, out message.ParamsClientVersion);
                        if (error != McpInspectError.None)
                        {
                            return error;
                        }
                        continue;
                    }
                    break;
                case ParamsMember.Ref:
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        error = ReadReference(ref reader, ref message, ref names);
                        if (error != McpInspectError.None)
                        {
                            return error;
                        }
                        continue;
                    }
                    break;
                case ParamsMember.Meta:
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        error = ReadMeta(ref reader, ref message, ref names);
                        if (error != McpInspectError.None)
                        {
                            return error;
                        }
                        continue;
                    }
                    message.MetaBad = reader.TokenType != JsonTokenType.Null;
                    break;
            }
            error = JsonCursor.SkipValue(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
        }
    }

    private static ParamsMember ParamsMemberOf(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            ReadOnlySpan<byte> name = reader.ValueSpan;
            return name.Length switch
            {
                4 when name.SequenceEqual("name"u8) => ParamsMember.Name,
                9 when name.SequenceEqual("arguments"u8) => ParamsMember.Arguments,
                5 when name.SequenceEqual("_meta"u8) => ParamsMember.Meta,
                3 when name.SequenceEqual("uri"u8) => ParamsMember.Uri,
                10 when name.SequenceEqual("clientInfo"u8) => ParamsMember.ClientInfo,
                15 when name.SequenceEqual("protocolVersion"u8) => ParamsMember.ProtocolVersion,
                3 when name.SequenceEqual("ref"u8) => ParamsMember.Ref,
                6 when name.SequenceEqual("taskId"u8) => ParamsMember.TaskId,
                9 when name.SequenceEqual("requestId"u8) => ParamsMember.RequestId,
                _ => ParamsMember.None,
            };
        }
        if (reader.ValueTextEquals("name"u8)) return ParamsMember.Name;
        if (reader.ValueTextEquals("arguments"u8)) return ParamsMember.Arguments;
        if (reader.ValueTextEquals("_meta"u8)) return ParamsMember.Meta;
        if (reader.ValueTextEquals("uri"u8)) return ParamsMember.Uri;
        if (reader.ValueTextEquals("clientInfo"u8)) return ParamsMember.ClientInfo;
        if (reader.ValueTextEquals("protocolVersion"u8)) return ParamsMember.ProtocolVersion;
        if (reader.ValueTextEquals("ref"u8)) return ParamsMember.Ref;
        if (reader.ValueTextEquals("taskId"u8)) return ParamsMember.TaskId;
        if (reader.ValueTextEquals("requestId"u8)) return ParamsMember.RequestId;
        return ParamsMember.None;
    }

    /// <summary>Reads <c>params._meta</c> (current token: its StartObject); ends on its EndObject.</summary>
    private static McpInspectError ReadMeta(ref Utf8JsonReader reader, ref MessageParts message, ref MemberNameTally names)
    {
        MetaMember seen = MetaMember.None;
        while (true)
        {
            McpInspectError error = JsonCursor.Next(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return McpInspectError.None;
            }

            MetaMember member = MetaMember.None;
            if (reader.ValueTextEquals(McpMetaKeys.ProtocolVersion)) member = MetaMember.ProtocolVersion;
            else if (reader.ValueTextEquals("progressToken"u8)) member = MetaMember.ProgressToken;
            else if (reader.ValueTextEquals(McpMetaKeys.ClientInfo)) member = MetaMember.ClientInfo;
            else if (MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.RequestMeta)) return McpInspectError.CaseVariantMember;
            if (member != MetaMember.None)
            {
                if ((seen & member) != 0)
                {
                    return McpInspectError.DuplicateMember;
                }
                seen |= member;
            }
            error = JsonCursor.Next(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }

            switch (member)
            {
                case MetaMember.ProtocolVersion:
                    message.MetaBad |= reader.TokenType != JsonTokenType.String;
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        message.MetaVersion = JsonCursor.ScalarRange(ref reader);
                    }
                    break;
                case MetaMember.ProgressToken:
                    if (reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
                    {
                        message.ProgressToken = JsonCursor.ScalarRange(ref reader);
                    }
                    break;
                case MetaMember.ClientInfo:
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        error = ReadImplementation(ref reader, ref names, out message.MetaClientName, out message.MetaClientVersion);
                        if (error != McpInspectError.None)
                        {
                            return error;
                        }
                        continue;
                    }
                    break;
            }
            error = JsonCursor.SkipValue(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
        }
    }

    /// <summary>Reads an Implementation object (clientInfo): its name and version strings.</summary>
    private static McpInspectError ReadImplementation(ref Utf8JsonReader reader, ref MemberNameTally names, out Range name, out Range version)
    {
        name = default;
        version = default;
        bool seenName = false, seenVersion = false;
        while (true)
        {
            McpInspectError error = JsonCursor.Next(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return McpInspectError.None;
            }
            bool isName = reader.ValueTextEquals("name"u8);
            bool isVersion = !isName && reader.ValueTextEquals("version"u8);
            if (!isName && !isVersion && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.Implementation))
            {
                return McpInspectError.CaseVariantMember;
            }
            if ((isName && seenName) || (isVersion && seenVersion))
            {
                return McpInspectError.DuplicateMember;
            }
            seenName |= isName;
            seenVersion |= isVersion;
            error = JsonCursor.Next(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
            if (reader.TokenType == JsonTokenType.String)
            {
                if (isName) name = JsonCursor.ScalarRange(ref reader);
                else if (isVersion) version = JsonCursor.ScalarRange(ref reader);
            }
            error = JsonCursor.SkipValue(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
        }
    }

    /// <summary>
    /// Reads a completion's <c>params.ref</c> (current token: its StartObject; ends on its EndObject): a
    /// <c>ref/prompt</c> names its target by <c>name</c>, a <c>ref/resource</c> by <c>uri</c> (a URI template).
    /// Anything else (another type, the other member, a non-string) leaves <see cref="MessageParts.Reference"/> empty,
    /// which a completion is refused for: the policy would not know what it completes.
    /// </summary>
    private static McpInspectError ReadReference(ref Utf8JsonReader reader, ref MessageParts message, ref MemberNameTally names)
    {
        const int Prompt = 1, Resource = 2, Other = 3;
        int type = 0;
        bool seenType = false, seenName = false, seenUri = false;
        Range name = default, uri = default;
        bool nameEscaped = false, uriEscaped = false;
        while (true)
        {
            McpInspectError error = JsonCursor.Next(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }
            bool isType = reader.ValueTextEquals("type"u8);
            bool isName = !isType && reader.ValueTextEquals("name"u8);
            bool isUri = !isType && !isName && reader.ValueTextEquals("uri"u8);
            if (!isType && !isName && !isUri && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.CompletionReference))
            {
                return McpInspectError.CaseVariantMember;
            }
            if ((isType && seenType) || (isName && seenName) || (isUri && seenUri))
            {
                return McpInspectError.DuplicateMember;
            }
            seenType |= isType;
            seenName |= isName;
            seenUri |= isUri;
            error = JsonCursor.Next(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
            if (reader.TokenType == JsonTokenType.String)
            {
                if (isType) type = reader.ValueTextEquals("ref/prompt"u8) ? Prompt : reader.ValueTextEquals("ref/resource"u8) ? Resource : Other;
                else if (isName) (name, nameEscaped) = (JsonCursor.ScalarRange(ref reader), reader.ValueIsEscaped);
                else if (isUri) (uri, uriEscaped) = (JsonCursor.ScalarRange(ref reader), reader.ValueIsEscaped);
            }
            else if (isType)
            {
                type = Other;
            }
            error = JsonCursor.SkipValue(ref reader, MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
        }
        if (type == Prompt) (message.Reference, message.ReferenceEscaped) = (name, nameEscaped);
        else if (type == Resource) (message.Reference, message.ReferenceEscaped) = (uri, uriEscaped);
        return McpInspectError.None;
    }

    /// <summary>
    /// True for the tasks methods of the schemas and any other <c>tasks/</c> method (2026-07-28 adds tasks/update; later
    /// versions may add more): each names a task, and the gateway must check that the caller owns it.
    /// </summary>
    private static bool IsTasksMethod(ref Utf8JsonReader reader, McpMethod method)
    {
        if (method is McpMethod.TasksGet or McpMethod.TasksResult or McpMethod.TasksCancel or McpMethod.TasksList) return true;
        if (!reader.ValueIsEscaped && !reader.HasValueSequence) return reader.ValueSpan.StartsWith("tasks/"u8);
        // Escaped ("tasks\u002fupdate"): the prefix of the decoded text decides, as the upstream reads it.
        Span<byte> scratch = stackalloc byte[McpMethods.MaxNameLength];
        int raw = JsonCursor.ValueLength(ref reader);
        if (raw <= scratch.Length) return scratch[..reader.CopyString(scratch)].StartsWith("tasks/"u8);
        byte[] rented = ArrayPool<byte>.Shared.Rent(raw);
        try
        {
            return rented.AsSpan(0, reader.CopyString(rented)).StartsWith("tasks/"u8);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Decides the kind and applies the per-method requirements once every member has been seen.</summary>
    private static McpInspectError Classify(ref MessageParts message, ref McpCall call)
    {
        if (!message.JsonRpcOk)
        {
            return McpInspectError.MissingJsonRpcVersion;
        }
        bool hasResult = (message.Seen & Seen.Result) != 0;
        bool hasError = (message.Seen & Seen.Error) != 0;
        bool hasId = (message.Seen & Seen.Id) != 0;

        if ((message.Seen & Seen.Method) == 0)
        {
            if (hasResult && hasError)
            {
                return McpInspectError.AmbiguousMessage;
            }
            if (!hasResult && !hasError)
            {
                return McpInspectError.MissingMethod;
            }
            // JSON-RPC: a response always has an id; only an error response may have a null one.
            if (!hasId || message.IdBad || (message.IdNull && hasResult))
            {
                return McpInspectError.InvalidId;
            }
            call.Kind = hasResult ? McpMessageKind.Response : McpMessageKind.ErrorResponse;
            return McpInspectError.None;
        }

        if (!message.MethodOk)
        {
            return McpInspectError.MissingMethod;
        }
        if (hasResult || hasError)
        {
            return McpInspectError.AmbiguousMessage;
        }
        if (message.IdBad || message.IdNull)
        {
            return McpInspectError.InvalidId;
        }
        call.Kind = hasId ? McpMessageKind.Request : McpMessageKind.Notification;
        if (message.ParamsBad || message.MetaBad)
        {
            return McpInspectError.InvalidParams;
        }

        McpMethod method = call.Method;
        if (McpMethods.TargetsByName(method))
        {
            if (message.NameBad || McpCall.IsEmpty(message.Name) || message.ArgumentsBad)
            {
                return McpInspectError.InvalidParams;
            }
            call.NameRange = message.Name;
            call.NameHasEscapes = message.NameEscaped;
        }
        else if (McpMethods.TargetsByUri(method))
        {
            if (message.UriBad || McpCall.IsEmpty(message.Uri))
            {
                return McpInspectError.InvalidParams;
            }
            call.NameRange = message.Uri;
            call.NameHasEscapes = message.UriEscaped;
        }
        else if (method == McpMethod.CompletionComplete)
        {
            // What a completion completes is its target: the policy decides on it as on prompts/get or a resource.
            if (McpCall.IsEmpty(message.Reference))
            {
                return McpInspectError.InvalidParams;
            }
            call.NameRange = message.Reference;
            call.NameHasEscapes = message.ReferenceEscaped;
        }
        else if (call.IsTasksMethod && method != McpMethod.TasksList)
        {
            // Every tasks/ method but the list acts on one task: without a string id there is no owner to check.
            if (message.TaskIdBad || McpCall.IsEmpty(message.TaskId))
            {
                return McpInspectError.InvalidParams;
            }
            call.TaskIdRange = message.TaskId;
        }
        else if (method == McpMethod.NotificationsCancelled)
        {
            // The gateway forwards a cancellation only for a request of the caller's in flight: it must name one.
            if (McpCall.IsEmpty(message.RequestId))
            {
                return McpInspectError.InvalidCancelledRequestId;
            }
            call.CancelledIdRange = message.RequestId;
        }
        call.ArgumentsRange = message.Arguments;
        call.ProtocolVersionMetaRange = message.MetaVersion;
        call.ProgressTokenRange = message.ProgressToken;
        if (method == McpMethod.Initialize)
        {
            call.InitializeProtocolVersionRange = message.InitializeVersion;
            call.ClientInfoNameRange = message.ParamsClientName;
            call.ClientInfoVersionRange = message.ParamsClientVersion;
        }
        if (McpCall.IsEmpty(call.ClientInfoNameRange))
        {
            call.ClientInfoNameRange = message.MetaClientName;
            call.ClientInfoVersionRange = message.MetaClientVersion;
        }
        return McpInspectError.None;
    }

    /// <summary>Facts gathered while reading that are only decided once the method is known (it may come last).</summary>
    private struct MessageParts
    {
        public Seen Seen;
        public bool JsonRpcOk, MethodOk, IdNull, IdBad, ParamsBad, MetaBad;
        public bool NameBad, NameEscaped, UriBad, UriEscaped, ArgumentsBad, TaskIdBad;
        public Range TaskId;
        /// <summary>params.requestId (a string or number token); absent or of another type: empty.</summary>
        public Range RequestId;
        public Range Name, Uri, Arguments, MetaVersion, InitializeVersion, ProgressToken;
        public Range ParamsClientName, ParamsClientVersion, MetaClientName, MetaClientVersion;
        /// <summary>params.ref of a completion: the prompt's name or the template's URI, and whether that token has escapes.</summary>
        public Range Reference;
        public bool ReferenceEscaped;
    }

    [Flags]
    private enum Seen : byte
    {
        None = 0, JsonRpc = 1, Method = 2, Id = 4, Params = 8, Result = 16, Error = 32,
    }

    [Flags]
    private enum ParamsMember : ushort
    {
        None = 0, Name = 1, Uri = 2, Arguments = 4, Meta = 8, ClientInfo = 16, ProtocolVersion = 32, Ref = 64, TaskId = 128, RequestId = 256,
    }

    [Flags]
    private enum MetaMember : byte
    {
        None = 0, ProtocolVersion = 1, ProgressToken = 2, ClientInfo = 4,
    }
}
