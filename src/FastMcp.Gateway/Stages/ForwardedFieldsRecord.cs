using System.Buffers;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Proxy;
using FastMcp.Http;
using FastMcp.Pan;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// What an exchange's records say the upstream got besides the body and the query: the client's fields forwarded under
/// forwardHeaders (component.headers) and its cookies under forwardCookies (component.cookies), written by the encoder
/// the approval digest uses (<see cref="ForwardedFieldLine"/>). The same decision as the request writer's
/// (<see cref="UpstreamRequestWriter.Fate"/>) picks the fields. Per connection, reused: allocates nothing once warm, and
/// nothing at all for a route that forwards neither.
/// </summary>
internal sealed class ForwardedFieldsRecord
{
    private readonly ForwardedFieldLine _headers = new();
    private readonly ForwardedFieldLine _cookies = new();
    private readonly PooledBufferWriter _headersText = new(0);
    private readonly PooledBufferWriter _cookiesText = new(0);

    /// <summary>Card numbers found in the recorded copies (fields "mask" left as sent: masking.requests forward).</summary>
    public CardFindings Cards;

    public void Release()
    {
        _headersText.Release();
        _cookiesText.Release();
    }

    /// <summary>
    /// Fills <paramref name="headers"/> and <paramref name="cookies"/> with the lines for <paramref name="ex"/> (empty when it
    /// forwarded none). Values are copied and masked as text with <paramref name="masker"/>; <see cref="Cards"/> gets the findings.
    /// </summary>
    public void Write(Exchange ex, PanMasker? masker, RecordedFieldKeys keys, out ReadOnlyMemory<byte> headers, out ReadOnlyMemory<byte> cookies)
    {
        headers = cookies = default;
        Cards.Reset();
        if (ex.Route is not { } route) return;
        bool federated = ex.FederationSession is not null;
        bool forwardCookies = route.Pool.ForwardsCookies && !federated;
        ForwardedHeaderAllowlist allowlist = federated ? ForwardedHeaderAllowlist.None : route.Pool.ForwardedHeaders;
        if (!forwardCookies && allowlist.AllowsNone) return;

        _headers.Clear();
        _cookies.Clear();
        HttpHeaderTable table = ex.Request.Headers;
        ReadOnlySpan<byte> credential = route.Credential is { } c ? c.HeaderLine : default;
        for (int i = 0; i < table.Count; i++)
        {
            UpstreamRequestWriter.FieldFate fate = UpstreamRequestWriter.Fate(table, i, credential, route.Pool.UpstreamHeaderLines, federated, forwardCookies, allowlist);
            ReadOnlySpan<byte> name = table.NameAt(i);
            ReadOnlySpan<byte> value = HttpTokens.TrimOws(table.ValueAt(i));
            if (fate == UpstreamRequestWriter.FieldFate.Allowed)
            {
                Span<byte> stored = _headers.AddHeader(name, value, keys.Redacts(name));
                masker?.MaskTextInPlace(stored, ref Cards);
            }
            else if (fate == UpstreamRequestWriter.FieldFate.Passed && CookieFields.IsRequestCookie(name))
            {
                // Masked before the pairs are MACed, as the digest's line: a card number is fingerprinted, not MACed.
                _cookiesText.Clear();
                _cookiesText.Write(value);
                if (masker is not null) masker.MaskTextInPlace(_cookiesText.WrittenSpan, ref Cards);
                _cookies.AddCookieField(name.Length == 7, _cookiesText.WrittenSpan);
            }
        }
        if (!_headers.IsEmpty)
        {
            _headersText.Clear();
            _headers.Write(_headersText, keys.Header);
            headers = _headersText.WrittenMemory;
        }
        if (!_cookies.IsEmpty)
        {
            _cookiesText.Clear();
            _cookies.Write(_cookiesText, keys.Cookie);
            cookies = _cookiesText.WrittenMemory;
        }
    }
}
