using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Hosting;
using FastMcp.Http;
using FastMcp.Identity;
using HttpMethod = FastMcp.Http.HttpMethod;

namespace FastMcp.Gateway.Admin;

/// <summary>
/// The server side of the approval peer protocol on the admin listener (docs/approvals.md, "Peer protocol"). No bearer
/// token: a request is taken only with a valid MAC under the peer key, a timestamp within ±60 s and a nonce not seen
/// before, and every answer is MACed over that nonce.
///   POST /peer/v1/lookup      a grant or pending grant-mode approval for a call (PeerLookup → PeerLookupAnswer)
///   POST /peer/v1/executed    a peer forwarded a call this replica's grant admitted
///   POST /peer/v1/approvals   an approvals API request another replica authenticated, answered from this replica alone
///   POST /peer/v1/standing    does an approval held here still stand for an identity (PeerStanding → PeerStandingAnswer)
/// </summary>
internal sealed class PeerEndpoints(ApprovalBroker broker, ApprovalPeers peers, ApprovalEndpoints api)
{
    private const long MaxSkewSeconds = 60;
    private readonly PeerNonceCache _nonces = new();

    public static bool Matches(ReadOnlySpan<byte> path) => path.StartsWith("/peer/v1/"u8);

    public async ValueTask<LocalResponse> HandleAsync(HttpRequestHead request, ReadOnlyMemory<byte> body, IPEndPoint remote)
    {
        if (request.Method != HttpMethod.Post) return Unsigned(405, "use POST", "Allow: POST\r\n");
        string? instance = Field(request, ApprovalPeers.InstanceHeader);
        string? nonce = Field(request, ApprovalPeers.NonceHeader);
        string? signature = Field(request, ApprovalPeers.SignatureHeader);
        if (instance is null || !IsHex32(instance) || nonce is null || !IsHex32(nonce) || signature is null
            || !long.TryParse(Field(request, ApprovalPeers.TimestampHeader), NumberStyles.None, CultureInfo.InvariantCulture, out long timestamp))
            return Refused(PeerRequestRefusal.Fields, "peer requests need their instance, timestamp, nonce and signature fields");
        if (Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - timestamp) > MaxSkewSeconds)
            return Refused(PeerRequestRefusal.Clock, $"peer request timestamp is more than {MaxSkewSeconds} s off this replica's clock");
        string path = Encoding.ASCII.GetString(request.Path);
        if (!peers.Signature.VerifyRequest(path, timestamp, nonce, instance, body.Span, signature))
        {
            // Anyone reaching the admin listener can send these: one line per interval, every one counted.
            if (peers.Refusals.Count(PeerRequestRefusal.Signature, out int held))
                Log.Warn($"approval peer request from {ApprovalEndpoints.ClientAddress(remote)} refused: not signed with the peer key" + LogRateLimit.Held(held));
            return Unsigned(401, "peer request is not signed with the peer key");
        }
        if (!_nonces.TryTake(nonce, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 2 * MaxSkewSeconds + 1))
            return Refused(PeerRequestRefusal.Replay, "peer request nonce was already used (a replay)");
        // This replica found itself in approvals.peers.urls: a signed empty answer tells it so, and it skips this URL from now on.
        if (instance == peers.Instance) return Signed(nonce, 200, "{}"u8.ToArray());

        try
        {
            switch (path)
            {
                case "/peer/v1/lookup":
                {
                    PeerLookup lookup = JsonSerializer.Deserialize(body.Span, PeerJsonContext.Default.PeerLookup) ?? throw new JsonException("null");
                    return Signed(nonce, 200, JsonSerializer.SerializeToUtf8Bytes(broker.AnswerLookup(lookup), PeerJsonContext.Default.PeerLookupAnswer));
                }
                case "/peer/v1/executed":
                {
                    PeerExecuted executed = JsonSerializer.Deserialize(body.Span, PeerJsonContext.Default.PeerExecuted) ?? throw new JsonException("null");
                    return broker.TakePeerExecution(executed) ? Signed(nonce, 200, "{}"u8.ToArray()) : Signed(nonce, 404, """{"error":"no such grant here"}"""u8.ToArray());
                }
                case "/peer/v1/standing":
                {
                    PeerStanding asked = JsonSerializer.Deserialize(body.Span, PeerJsonContext.Default.PeerStanding) ?? throw new JsonException("null");
                    return Signed(nonce, 200, JsonSerializer.SerializeToUtf8Bytes(broker.AnswerStanding(asked), PeerJsonContext.Default.PeerStandingAnswer));
                }
                case "/peer/v1/approvals":
                {
                    PeerApiRequest relayed = JsonSerializer.Deserialize(body.Span, PeerJsonContext.Default.PeerApiRequest) ?? throw new JsonException("null");
                    PeerPrincipal p = relayed.Principal ?? throw new JsonException("no principal");
                    if (string.IsNullOrEmpty(p.Subject) || relayed.Path is null || !ApprovalEndpoints.Matches(Encoding.ASCII.GetBytes(relayed.Path)))
                        return Signed(nonce, 400, """{"error":"a relayed approvals request needs a principal and an approvals path"}"""u8.ToArray());
                    // Authenticated by the replica the approver called; this one applies every approval check to that principal.
                    var approver = new Principal(p.Subject, [.. p.Groups ?? []], [], p.ClientId, p.Issuer, DateTimeOffset.UtcNow.AddMinutes(1));
                    LocalResponse answer = await api.AnswerAsync(approver, relayed.Method ?? "", relayed.Path, relayed.All, relayed.Body ?? "", relayed.Address ?? "",
                        askPeers: false).ConfigureAwait(false);
                    return Signed(nonce, answer.Status, answer.Body);
                }
                default:
                    return Signed(nonce, 404, """{"error":"not found"}"""u8.ToArray());
            }
        }
        catch (JsonException e)
        {
            return Signed(nonce, 400, JsonSerializer.SerializeToUtf8Bytes(new ApiError { Error = $"body is not a valid peer request: {FastMcp.Http.PlainError.Describe(e)}" }, ApprovalJsonContext.Default.ApiError));
        }
    }

    private LocalResponse Signed(string nonce, int status, byte[] body) =>
        new(status, "application/json", body,
            $"{ApprovalPeers.InstanceHeader}: {peers.Instance}\r\n{ApprovalPeers.SignatureHeader}: {peers.Signature.SignResponse(nonce, peers.Instance, status, body)}\r\n");

    private LocalResponse Refused(PeerRequestRefusal reason, string error)
    {
        peers.Refusals.Count(reason, out _);
        return Unsigned(401, error);
    }

    private static LocalResponse Unsigned(int status, string error, string extraHeaders = "") =>
        new(status, "application/json", JsonSerializer.SerializeToUtf8Bytes(new ApiError { Error = error }, ApprovalJsonContext.Default.ApiError), extraHeaders);

    private static string? Field(HttpRequestHead request, string name) =>
        request.Headers.TryGet(Encoding.ASCII.GetBytes(name), out ReadOnlySpan<byte> value) ? Encoding.ASCII.GetString(HttpTokens.TrimOws(value)) : null;

    private static bool IsHex32(string s)
    {
        if (s.Length != 32) return false;
        foreach (char c in s)
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c)) return false;
        return true;
    }
}
