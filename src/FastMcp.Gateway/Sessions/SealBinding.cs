using System.Buffers.Binary;
using System.Text;
using FastMcp.Identity;

namespace FastMcp.Gateway.Sessions;

/// <summary>
/// The bytes a sealed id is bound to: len‖issuer ‖ len‖subject ‖ len‖upstream name ‖ len‖id, each length 4 bytes
/// big-endian (a missing issuer is empty). <see cref="IdSeal"/> MACs them; Tasks/TaskSeal.cs takes them as AES-GCM
/// associated data. One writer, so the two cannot drift apart.
/// </summary>
internal static class SealBinding
{
    public static int Length(Principal caller, string upstream, ReadOnlySpan<byte> id) =>
        16 + Encoding.UTF8.GetByteCount(caller.Issuer ?? "") + Encoding.UTF8.GetByteCount(caller.Subject) + Encoding.UTF8.GetByteCount(upstream) + id.Length;

    /// <summary>Writes the binding into <paramref name="into"/>, exactly <see cref="Length"/> bytes long.</summary>
    public static void Write(Principal caller, string upstream, ReadOnlySpan<byte> id, Span<byte> into)
    {
        int at = Put(into, caller.Issuer ?? "", 0);
        at = Put(into, caller.Subject, at);
        at = Put(into, upstream, at);
        BinaryPrimitives.WriteInt32BigEndian(into[at..], id.Length);
        id.CopyTo(into[(at + 4)..]);
    }

    private static int Put(Span<byte> into, string field, int at)
    {
        int n = Encoding.UTF8.GetBytes(field, into[(at + 4)..]);
        BinaryPrimitives.WriteInt32BigEndian(into[at..], n);
        return at + 4 + n;
    }
}
