using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using FastMcp.Gateway.Sessions;
using FastMcp.Identity;

namespace FastMcp.Gateway.Federation;

/// <summary>
/// Sealed federated session ids (sessions.sealed on a federated path; docs/mcp-handling.md, "Sealed federated session
/// ids"): the client holds "fmf1." + base64url(tag ‖ P), P being what a replica needs to serve the session without having
/// seen it opened: per member, in the route's configured order, whether it initialized, its agreed protocol version and
/// its own session id. The tag (Sessions/IdSeal.cs) covers the caller, the route's path and P, so an id is usable by its
/// caller on its path only. P, format version 1 (every length 2 bytes big-endian):
/// <c>0x01 ‖ member count ‖ per member: flags (0x01 initialized) ‖ len‖name ‖ len‖protocol version ‖ len‖session id</c>.
/// The member's configured name is in P so that a route whose members were renamed or reordered since never sends one
/// member's session id to another: its ids stop opening.
/// </summary>
internal static class SealedFederatedSessions
{
    private const byte FormatVersion = 1;
    private const byte InitializedFlag = 1;

    /// <summary>
    /// The longest sealed id issued: a quarter of limits.maxHeadBytes, so that the id, the caller's token and the other
    /// header fields of its next request still fit in one request head.
    /// </summary>
    public static int MaxSealedLength(int maxHeadBytes) => maxHeadBytes / 4;

    /// <summary>
    /// The sealed id of <paramref name="session"/> for <paramref name="caller"/> on <paramref name="route"/>; null when
    /// it would be longer than <paramref name="maxLength"/> bytes (<paramref name="length"/> says how long).
    /// </summary>
    public static string? Seal(IdSeal seal, Principal caller, FederatedRoute route, FederationSession session, int maxLength, out int length)
    {
        byte[]? payload = Payload(route, session);
        length = payload is null ? int.MaxValue : seal.SealedLength(payload.Length);
        if (payload is null || length > maxLength) return null;
        byte[] id = new byte[length];
        int written = seal.Seal(payload, caller, route.PathText, id);
        return Encoding.ASCII.GetString(id, 0, written);
    }

    /// <summary>P for the session's members as they stand after initialize; null when a count or field exceeds its 2-byte length.</summary>
    public static byte[]? Payload(FederatedRoute route, FederationSession session)
    {
        if (route.Members.Length > ushort.MaxValue) return null;
        var output = new ArrayBufferWriter<byte>(64);
        output.Write([FormatVersion]);
        PutLength(output, route.Members.Length);
        for (int i = 0; i < route.Members.Length; i++)
        {
            bool initialized = session.Initialized[i];
            output.Write([initialized ? InitializedFlag : (byte)0]);
            if (!Put(output, Encoding.UTF8.GetBytes(route.Members[i].Name))
                || !Put(output, initialized && session.MemberVersions[i] is { } v ? Encoding.UTF8.GetBytes(v) : [])
                || !Put(output, initialized && session.MemberSessions[i] is { } s ? Encoding.ASCII.GetBytes(s) : []))
                return null;
        }
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Reads P strictly: this format version, this route's member count and names in order, nothing left over.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, FederatedRoute route, out MemberStates members)
    {
        members = default;
        int count = route.Members.Length;
        if (payload.Length < 3 || payload[0] != FormatVersion || BinaryPrimitives.ReadUInt16BigEndian(payload[1..]) != count) return false;
        var states = new MemberStates(count);
        int at = 3;
        for (int i = 0; i < count; i++)
        {
            if (at >= payload.Length || payload[at] > InitializedFlag) return false;
            bool initialized = payload[at++] == InitializedFlag;
            if (!TryTake(payload, ref at, out ReadOnlySpan<byte> name) || !name.SequenceEqual(Encoding.UTF8.GetBytes(route.Members[i].Name))) return false;
            if (!TryTake(payload, ref at, out ReadOnlySpan<byte> version) || !TryTake(payload, ref at, out ReadOnlySpan<byte> session)) return false;
            // A member that did not initialize has nothing to resume: anything there was not written by a gateway.
            if (!initialized && (version.Length > 0 || session.Length > 0)) return false;
            states.Initialized[i] = initialized;
            states.Versions[i] = version.IsEmpty ? null : Encoding.UTF8.GetString(version);
            states.Sessions[i] = session.IsEmpty ? null : Encoding.ASCII.GetString(session);
        }
        if (at != payload.Length) return false;
        members = states;
        return true;
    }

    private static bool TryTake(ReadOnlySpan<byte> payload, ref int at, out ReadOnlySpan<byte> field)
    {
        field = default;
        if (payload.Length - at < 2) return false;
        int length = BinaryPrimitives.ReadUInt16BigEndian(payload[at..]);
        at += 2;
        if (payload.Length - at < length) return false;
        field = payload.Slice(at, length);
        at += length;
        return true;
    }

    private static bool Put(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> field)
    {
        if (field.Length > ushort.MaxValue) return false;
        PutLength(output, field.Length);
        output.Write(field);
        return true;
    }

    private static void PutLength(ArrayBufferWriter<byte> output, int length)
    {
        Span<byte> two = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(two, (ushort)length);
        output.Write(two);
    }
}

/// <summary>What a sealed federated id says of each member, in the route's order (null: none given).</summary>
internal readonly struct MemberStates(int members)
{
    public bool[] Initialized { get; } = new bool[members];
    public string?[] Versions { get; } = new string?[members];
    public string?[] Sessions { get; } = new string?[members];
}
