using FastMcp.Identity;

namespace FastMcp.Gateway.Sessions;

/// <summary>
/// One connection's session id lines while sessions are sealed (Sessions/IdSeal.cs): the upstream's id a verified
/// sealed id stands for (the line the upstream gets instead of the client's, and the id the table and the record use),
/// and the sealed id of an upstream's answer (the line the client gets instead of the upstream's). Buffers grow to the
/// longest id seen and are reused by every exchange of the connection: nothing is allocated per request.
/// </summary>
internal sealed class SealedSessionLines
{
    private static ReadOnlySpan<byte> FieldName => "Mcp-Session-Id: "u8;

    private byte[] _upstream = [];
    private int _upstreamLength;
    private byte[] _client = [];
    private int _clientLength;

    /// <summary>Sessions are sealed on this exchange's route (sessions.sealed, a plain route): an upstream's id never reaches the client unsealed.</summary>
    public bool Seals { get; set; }

    /// <summary>A verified sealed id was opened: the request stands for <see cref="UpstreamId"/>.</summary>
    public bool Opened => _upstreamLength > 0;

    /// <summary>The upstream's id the request's sealed id stands for; empty unless <see cref="Opened"/>.</summary>
    public ReadOnlySpan<byte> UpstreamId => Opened ? _upstream.AsSpan(FieldName.Length, _upstreamLength - FieldName.Length - 2) : default;

    /// <summary>"Mcp-Session-Id: U" CRLF for the upstream; empty unless <see cref="Opened"/>.</summary>
    public ReadOnlyMemory<byte> UpstreamLine => _upstream.AsMemory(0, _upstreamLength);

    /// <summary>"Mcp-Session-Id: S" CRLF for the client; empty when the answer carried no id to seal.</summary>
    public ReadOnlySpan<byte> ClientLine => _client.AsSpan(0, _clientLength);

    public void Reset()
    {
        Seals = false;
        _upstreamLength = 0;
        _clientLength = 0;
    }

    /// <summary>Opens the request's sealed id for the caller on the upstream; false (nothing opened) when it does not verify.</summary>
    public bool TryOpen(IdSeal seal, ReadOnlySpan<byte> sealedId, Principal caller, string upstream)
    {
        _upstreamLength = 0;
        Grow(ref _upstream, FieldName.Length + sealedId.Length + 2);
        int n = seal.Open(sealedId, caller, upstream, _upstream.AsSpan(FieldName.Length));
        if (n <= 0) return false;
        FieldName.CopyTo(_upstream);
        "\r\n"u8.CopyTo(_upstream.AsSpan(FieldName.Length + n));
        _upstreamLength = FieldName.Length + n + 2;
        return true;
    }

    /// <summary>Seals the id an upstream's answer carries for the caller on the upstream.</summary>
    public void SealAnswered(IdSeal seal, ReadOnlySpan<byte> upstreamId, Principal caller, string upstream)
    {
        Grow(ref _client, FieldName.Length + seal.SealedLength(upstreamId.Length) + 2);
        FieldName.CopyTo(_client);
        int n = seal.Seal(upstreamId, caller, upstream, _client.AsSpan(FieldName.Length));
        "\r\n"u8.CopyTo(_client.AsSpan(FieldName.Length + n));
        _clientLength = FieldName.Length + n + 2;
    }

    // Rounded up so that ids of about one length settle on one buffer after the first.
    private static void Grow(ref byte[] buffer, int needed)
    {
        if (buffer.Length < needed) buffer = new byte[Math.Max(128, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)needed))];
    }
}
