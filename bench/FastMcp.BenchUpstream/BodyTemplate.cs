using System.Buffers;
using System.Text;

namespace FastMcp.BenchUpstream;

/// <summary>What a template hole is filled with.</summary>
internal enum TemplateHole : byte
{
    /// <summary>The request's JSON-RPC id, raw token bytes (quotes included for strings).</summary>
    Id,
    /// <summary>The request's params._meta.progressToken, raw token bytes.</summary>
    ProgressToken,
}

/// <summary>The raw values a response splices in, as slices of the request body.</summary>
internal readonly ref struct TemplateValues(ReadOnlySpan<byte> id, ReadOnlySpan<byte> progressToken)
{
    public readonly ReadOnlySpan<byte> Id = id;
    public readonly ReadOnlySpan<byte> ProgressToken = progressToken;

    public ReadOnlySpan<byte> Get(TemplateHole hole) => hole == TemplateHole.Id ? Id : ProgressToken;
}

/// <summary>
/// Pre-encoded bytes with holes. Encoded once at start-up, so answering a request is a few
/// memory copies: the upstream must never be the bottleneck of the thing it serves.
/// </summary>
internal sealed class BodyTemplate
{
    private const string IdMarker = "{{id}}";
    private const string ProgressMarker = "{{progressToken}}";

    private readonly byte[][] _literals;
    private readonly TemplateHole[] _holes;
    private readonly int _literalLength;

    private BodyTemplate(byte[][] literals, TemplateHole[] holes)
    {
        _literals = literals;
        _holes = holes;
        foreach (var literal in literals)
        {
            _literalLength += literal.Length;
        }
    }

    /// <summary>Parses "{{id}}" and "{{progressToken}}" markers out of <paramref name="text"/>.</summary>
    public static BodyTemplate Parse(string text)
    {
        var literals = new List<byte[]>();
        var holes = new List<TemplateHole>();
        var rest = text.AsSpan();
        while (true)
        {
            var idAt = rest.IndexOf(IdMarker, StringComparison.Ordinal);
            var progressAt = rest.IndexOf(ProgressMarker, StringComparison.Ordinal);
            if (idAt < 0 && progressAt < 0)
            {
                literals.Add(Encoding.UTF8.GetBytes(rest.ToString()));
                break;
            }

            var isId = progressAt < 0 || (idAt >= 0 && idAt < progressAt);
            var at = isId ? idAt : progressAt;
            literals.Add(Encoding.UTF8.GetBytes(rest[..at].ToString()));
            holes.Add(isId ? TemplateHole.Id : TemplateHole.ProgressToken);
            rest = rest[(at + (isId ? IdMarker.Length : ProgressMarker.Length))..];
        }

        return new BodyTemplate([.. literals], [.. holes]);
    }

    public int Length(in TemplateValues values)
    {
        var length = _literalLength;
        foreach (var hole in _holes)
        {
            length += values.Get(hole).Length;
        }

        return length;
    }

    public void WriteTo(IBufferWriter<byte> writer, in TemplateValues values)
    {
        var span = writer.GetSpan(Length(values));
        var written = 0;
        for (var i = 0; i < _holes.Length; i++)
        {
            _literals[i].CopyTo(span[written..]);
            written += _literals[i].Length;
            var value = values.Get(_holes[i]);
            value.CopyTo(span[written..]);
            written += value.Length;
        }

        var last = _literals[^1];
        last.CopyTo(span[written..]);
        written += last.Length;
        writer.Advance(written);
    }
}
