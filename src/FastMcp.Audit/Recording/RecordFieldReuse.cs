using FastMcp.Pan;

namespace FastMcp.Audit.Recording;

/// <summary>
/// The serialized, masked fields from <c>"user"</c> through <c>"approver"</c> of the last record an
/// <see cref="AuditEvent"/> was written as, with the values they were written from. An exchange's request and
/// response records name the same caller, origin, component (query, forwarded fields and cookies included), session, trace, JSON-RPC id and decision: the second
/// record copies these bytes instead of writing and masking them again. Used only when every one of those values
/// is the same (strings by ordinal equality, the id byte for byte) and the same masker is in use, so the record is
/// byte for byte what a fresh serialization writes. The region starts at a member name and ends at a member
/// value's closing quote or bracket, so masking it apart from the rest finds the same card numbers (a card
/// number cannot run across <c>","name"</c>).
/// <para>
/// Its first part, <c>"user"</c> through <c>"session"</c> (<see cref="CallerBytes"/>), names who calls, what, and in which
/// session: it stays the same from one exchange of a connection to the next, while the rest (trace, JSON-RPC id, decision)
/// changes with each. The next exchange's request record copies that part alone when its values are the same
/// (<see cref="MatchesCaller"/>), and writes and masks the rest; the part ends at <c>"session"</c>'s closing quote (or
/// <c>"component"</c>'s closing brace without a session), a member boundary like the region's own ends (issue #14: masking the
/// record fields again was the record path's largest item, and a session id's hex digits kept the rest a full scan).
/// </para>
/// </summary>
internal sealed class RecordFieldReuse
{
    private byte[] _bytes = new byte[512];
    private byte[] _jsonRpcId = new byte[64];
    private int _jsonRpcIdLength;
    private byte[] _query = [];
    private int _queryLength;
    private byte[] _headers = [];
    private int _headersLength;
    private byte[] _cookies = [];
    private int _cookiesLength;
    private string?[] _groups = new string?[4];
    private int _groupCount;
    private bool _hasGroups;
    private bool _valid;
    private PanMasker? _masker;
    private string? _subject, _clientId, _clientAddress, _clientHop, _certificateSubject, _certificateSha256,
        _mcpClientName, _mcpClientVersion, _upstream, _upstreamName, _method, _target, _session, _decision, _rule, _approver;
    private ulong _traceHigh, _traceLow, _spanId;

    /// <summary>Bytes of the region when <see cref="Matches"/> said yes.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes.AsSpan(0, Length);

    public int Length { get; private set; }

    /// <summary>The region's first part, <c>"user"</c> through <c>"session"</c>, when <see cref="MatchesCaller"/> said yes.</summary>
    public ReadOnlySpan<byte> CallerBytes => _bytes.AsSpan(0, _callerLength);

    private int _callerLength;

    /// <summary>Whether the region written for <paramref name="e"/> with <paramref name="masker"/> is the one kept.</summary>
    public bool Matches(AuditEvent e, PanMasker masker)
    {
        if (!MatchesCaller(e, masker)) return false;
        if (e.TraceHigh != _traceHigh || e.TraceLow != _traceLow || e.SpanId != _spanId) return false;
        if (!Same(e.Decision, _decision) || !Same(e.Rule, _rule) || !Same(e.Approver, _approver)) return false;
        return e.JsonRpcIdRaw.Span.SequenceEqual(_jsonRpcId.AsSpan(0, _jsonRpcIdLength));
    }

    /// <summary>Whether the region's first part (<see cref="CallerBytes"/>), written for <paramref name="e"/> with <paramref name="masker"/>, is the one kept.</summary>
    public bool MatchesCaller(AuditEvent e, PanMasker masker)
    {
        if (!_valid || !ReferenceEquals(masker, _masker)) return false;
        if (!Same(e.Subject, _subject) || !Same(e.ClientId, _clientId) || !Same(e.ClientAddress, _clientAddress)
            || !Same(e.ClientHop, _clientHop) || !Same(e.ClientCertificateSubject, _certificateSubject)
            || !Same(e.ClientCertificateSha256, _certificateSha256) || !Same(e.McpClientName, _mcpClientName)
            || !Same(e.McpClientVersion, _mcpClientVersion) || !Same(e.Upstream, _upstream) || !Same(e.UpstreamName, _upstreamName)
            || !Same(e.Method, _method) || !Same(e.Target, _target) || !Same(e.SessionId, _session))
        {
            return false;
        }
        if (!e.Query.Span.SequenceEqual(_query.AsSpan(0, _queryLength))) return false;
        if (!e.Headers.Span.SequenceEqual(_headers.AsSpan(0, _headersLength))) return false;
        if (!e.Cookies.Span.SequenceEqual(_cookies.AsSpan(0, _cookiesLength))) return false;
        if (e.Groups is not { } groups) return !_hasGroups;
        if (!_hasGroups || groups.Length != _groupCount) return false;
        for (int i = 0; i < groups.Length; i++)
        {
            if (!Same(groups[i], _groups[i])) return false;
        }
        return true;
    }

    /// <summary>
    /// Keeps <paramref name="region"/> (already masked) as what <paramref name="e"/>'s values serialize to; its first
    /// <paramref name="callerLength"/> bytes are the part <c>"user"</c> through <c>"session"</c>.
    /// </summary>
    public void Keep(AuditEvent e, PanMasker masker, ReadOnlySpan<byte> region, int callerLength)
    {
        _valid = false;
        ReadOnlySpan<byte> id = e.JsonRpcIdRaw.Span;
        ReadOnlySpan<byte> query = e.Query.Span;
        ReadOnlySpan<byte> headers = e.Headers.Span;
        ReadOnlySpan<byte> cookies = e.Cookies.Span;
        string[]? groups = e.Groups;
        // A region, id, query or forwarded-fields line too large to be worth keeping is simply not kept.
        if (region.Length > 16 * 1024 || id.Length > 1024 || query.Length > 8 * 1024 || headers.Length > 8 * 1024 || cookies.Length > 8 * 1024
            || (groups is not null && groups.Length > 64)) return;
        if (_bytes.Length < region.Length) _bytes = new byte[Math.Max(region.Length, _bytes.Length * 2)];
        region.CopyTo(_bytes);
        Length = region.Length;
        _callerLength = callerLength;
        if (_query.Length < query.Length) _query = new byte[query.Length];
        query.CopyTo(_query);
        _queryLength = query.Length;
        KeepCopy(headers, ref _headers, out _headersLength);
        KeepCopy(cookies, ref _cookies, out _cookiesLength);
        _hasGroups = groups is not null;
        _groupCount = groups?.Length ?? 0;
        if (groups is not null)
        {
            if (_groups.Length < groups.Length) _groups = new string?[groups.Length];
            else Array.Clear(_groups);
            groups.CopyTo(_groups, 0);
        }
        _masker = masker;
        _subject = e.Subject;
        _clientId = e.ClientId;
        _clientAddress = e.ClientAddress;
        _clientHop = e.ClientHop;
        _certificateSubject = e.ClientCertificateSubject;
        _certificateSha256 = e.ClientCertificateSha256;
        _mcpClientName = e.McpClientName;
        _mcpClientVersion = e.McpClientVersion;
        _upstream = e.Upstream;
        _upstreamName = e.UpstreamName;
        _method = e.Method;
        _target = e.Target;
        _session = e.SessionId;
        KeepExchangeValues(e, id);
    }

    /// <summary>
    /// <see cref="Keep"/> for a region whose caller part was copied from <see cref="CallerBytes"/> (<see cref="MatchesCaller"/>
    /// said yes for <paramref name="e"/>): that part and its values are kept already, so only the rest (trace, JSON-RPC id,
    /// decision) is copied (issue #14: the whole region and every value were copied again for each request record).
    /// </summary>
    public void KeepExchange(AuditEvent e, ReadOnlySpan<byte> region)
    {
        _valid = false;
        ReadOnlySpan<byte> id = e.JsonRpcIdRaw.Span;
        if (region.Length > 16 * 1024 || id.Length > 1024) return;
        if (_bytes.Length < region.Length)
        {
            byte[] larger = new byte[Math.Max(region.Length, _bytes.Length * 2)];
            _bytes.AsSpan(0, _callerLength).CopyTo(larger);
            _bytes = larger;
        }
        region[_callerLength..].CopyTo(_bytes.AsSpan(_callerLength));
        Length = region.Length;
        KeepExchangeValues(e, id);
    }

    /// <summary>What changes with every exchange of a connection (its JSON-RPC id, decision, rule, approver, trace), kept by
    /// <see cref="Keep"/> and <see cref="KeepExchange"/> alike; the region is valid from here on.</summary>
    private void KeepExchangeValues(AuditEvent e, ReadOnlySpan<byte> id)
    {
        if (_jsonRpcId.Length < id.Length) _jsonRpcId = new byte[id.Length];
        id.CopyTo(_jsonRpcId);
        _jsonRpcIdLength = id.Length;
        _decision = e.Decision;
        _rule = e.Rule;
        _approver = e.Approver;
        _traceHigh = e.TraceHigh;
        _traceLow = e.TraceLow;
        _spanId = e.SpanId;
        _valid = true;
    }

    private static void KeepCopy(ReadOnlySpan<byte> value, ref byte[] kept, out int length)
    {
        if (kept.Length < value.Length) kept = new byte[value.Length];
        value.CopyTo(kept);
        length = value.Length;
    }

    private static bool Same(string? a, string? b) => ReferenceEquals(a, b) || string.Equals(a, b, StringComparison.Ordinal);
}
