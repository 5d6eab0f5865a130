using System.Text;

namespace FastMcp.Http.Tests;

/// <summary>Every field a parsed request head exposes, as comparable values.</summary>
internal sealed record RequestSnapshot(
    HttpRejectReason Result,
    HttpMethod Method,
    string MethodToken,
    string Target,
    string Path,
    string Query,
    bool IsHttp11,
    string Headers,
    BodyFraming Framing,
    long ContentLength,
    bool ConnectionClose,
    bool ExpectsContinue)
{
    public static RequestSnapshot Of(HttpRequestHead head, HttpRejectReason result)
    {
        var headers = new StringBuilder();
        for (int i = 0; i < head.Headers.Count; i++)
        {
            headers.Append(head.Headers.KindAt(i)).Append('|')
                .Append(Encoding.Latin1.GetString(head.Headers.NameAt(i))).Append('|')
                .Append(Encoding.Latin1.GetString(head.Headers.ValueAt(i))).Append('\n');
        }
        return new RequestSnapshot(result, head.Method, S(head.MethodToken), S(head.Target), S(head.Path), S(head.Query),
            head.IsHttp11, headers.ToString(), head.Framing, head.ContentLength, head.ConnectionClose, head.ExpectsContinue);
    }

    private static string S(ReadOnlySpan<byte> b) => Encoding.Latin1.GetString(b);
}
