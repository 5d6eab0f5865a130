using System.Net;
using System.Text;
using FastMcp.Http;

namespace FastMcp.Gateway.Clients;

/// <summary>
/// Who is at the other end of one client connection: the peer the socket (or a PROXY protocol header) names, and
/// per request the client the trusted proxies vouch for. Texts are kept while the client stays the same, so a
/// connection that carries one client's requests allocates nothing per request.
/// </summary>
internal sealed class ConnectionClient
{
    private IPAddress _peer;
    private IPAddress _client;

    public ConnectionClient(IPAddress peer)
    {
        _peer = TrustedProxies.Normalize(peer);
        _client = _peer;
        PeerText = _peer.ToString();
        Address = PeerText;
        AddressBytes = Encoding.ASCII.GetBytes(Address);
    }

    /// <summary>The address requests are attributed to (audit, rate limits, X-Forwarded-For upstream).</summary>
    public string Address { get; private set; }
    public byte[] AddressBytes { get; private set; }

    /// <summary>The same address as parsed (IPv4 clients as IPv4): what policy rules with "addresses" compare.</summary>
    public IPAddress Ip => _client;

    /// <summary>The socket peer when it is not the client itself (the proxy or balancer next to the gateway); else null.</summary>
    public string? Hop { get; private set; }

    /// <summary>The immediate peer (the socket's, or the load balancer's when a PROXY header named the source).</summary>
    public string PeerText { get; private set; }

    /// <summary>
    /// A PROXY protocol header named the connection's real source: it becomes the peer, and the balancer that sent
    /// the header the hop.
    /// </summary>
    public void SetProxiedSource(IPAddress source)
    {
        _socketPeerText ??= PeerText;
        _peer = TrustedProxies.Normalize(source);
        PeerText = _peer.ToString();
        _client = _peer;
        Address = PeerText;
        AddressBytes = Encoding.ASCII.GetBytes(Address);
        Hop = _socketPeerText == PeerText ? null : _socketPeerText;
    }

    // The socket's own peer once a PROXY header replaced it (the balancer).
    private string? _socketPeerText;

    /// <summary>Resolves the client of the request just read.</summary>
    public void Resolve(HttpHeaderTable headers, ClientAddressing addressing)
    {
        if (addressing.TrustedProxies.IsEmpty) return;
        IPAddress client = ForwardedChain.Resolve(_peer, headers, addressing.Header, addressing.TrustedProxies);
        if (client.Equals(_client)) return;
        _client = client;
        Address = client.Equals(_peer) ? PeerText : client.ToString();
        string socketPeer = _socketPeerText ?? PeerText;
        Hop = Address == socketPeer ? null : socketPeer;
        AddressBytes = Encoding.ASCII.GetBytes(Address);
    }
}
