using System.Buffers;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Finds an object, anywhere in a message, that names the same member twice after JSON unescaping
/// (<c>{"path":"/tmp","p\u0061th":"/etc"}</c>) or names two members that differ only in letter case
/// (<c>{"path":"/tmp","Path":"/etc"}</c>). Parsers disagree on which copy wins: the policy's pointer lookup takes
/// the first exact one, Python's and JavaScript's JSON take the last, Go's encoding/json fills a struct field from
/// the last name that matches it ignoring case (<see cref="MemberNameFold"/>), so such arguments could be decided
/// on one value and run with the other. The readers that walk a message anyway (<see cref="McpInspector"/>,
/// <see cref="McpResponseInspector"/>, <see cref="ListResultFilter"/>) check this in their own walk with a
/// <see cref="MemberNameTally"/>; this is the same check as a walk of its own, for callers that read a message another
/// way (<c>fastmcp policy test</c>), and the second reading that names a clash found folded.
/// </summary>
internal static class DuplicateMemberScan
{
    private static readonly JsonReaderOptions ReaderOptions = JsonCursor.Options(McpInspector.MaxDepth);

    /// <summary>
    /// Whether some object in <paramref name="json"/> (well-formed JSON) repeats a member name, exactly or only
    /// apart from letter case.
    /// </summary>
    public static MemberNameClash Find(in ReadOnlySequence<byte> json)
    {
        var folded = new Utf8JsonReader(json, ReaderOptions);
        return Clashes(ref folded, fold: true) ? Name(json) : MemberNameClash.None;
    }

    /// <summary>Span form of <see cref="Find(in ReadOnlySequence{byte})"/>.</summary>
    public static MemberNameClash Find(ReadOnlySpan<byte> json)
    {
        var folded = new Utf8JsonReader(json, ReaderOptions);
        return Clashes(ref folded, fold: true) ? Name(json) : MemberNameClash.None;
    }

    /// <summary>
    /// Which clash a message holds that a folding tally found one in: <see cref="MemberNameClash.Duplicate"/> when some
    /// object repeats a name exactly, else <see cref="MemberNameClash.CaseVariant"/>. Only a message about to be refused
    /// is read this second time.
    /// </summary>
    public static MemberNameClash Name(in ReadOnlySequence<byte> json)
    {
        var exact = new Utf8JsonReader(json, ReaderOptions);
        return Clashes(ref exact, fold: false) ? MemberNameClash.Duplicate : MemberNameClash.CaseVariant;
    }

    /// <summary>Span form of <see cref="Name(in ReadOnlySequence{byte})"/>.</summary>
    public static MemberNameClash Name(ReadOnlySpan<byte> json)
    {
        var exact = new Utf8JsonReader(json, ReaderOptions);
        return Clashes(ref exact, fold: false) ? MemberNameClash.Duplicate : MemberNameClash.CaseVariant;
    }

    private static bool Clashes(ref Utf8JsonReader reader, bool fold)
    {
        var names = new MemberNameTally(fold);
        try
        {
            while (!names.Clashed && reader.Read())
            {
                names.Observe(ref reader);
            }
            return names.Clashed;
        }
        finally
        {
            names.Dispose();
        }
    }
}
