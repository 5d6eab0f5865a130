using System.Buffers.Binary;
using System.Text;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// What a sealed task id (fmt2., <see cref="TaskSeal"/>) carries encrypted: the call that created the task, so that any
/// replica can decide that call as the creating one would (docs/mcp-handling.md, "Sealed task ids"). Layout: a layout
/// byte (1), a flags byte (bit 0: a creating call is carried; bit 1: its arguments were withheld), then six fields, each
/// a 4-byte big-endian length and that many bytes, 0xFFFFFFFF standing for an absent field with no bytes: method,
/// target, rule, masking profile, approval id, arguments.
/// </summary>
internal static class SealedTaskPlaintext
{
    public const byte Layout = 1;

    private const byte CarriesCall = 1, ArgumentsWithheld = 2;
    private const int FieldCount = 6;
    private const uint Absent = uint.MaxValue;

    /// <summary>Longest rule, masking profile and approval id carried: a call whose names are longer travels without its call (refused elsewhere).</summary>
    public const int MaxNameBytes = 256;

    /// <summary>Most bytes the plaintext takes: the largest method, target, three names and kept arguments.</summary>
    public const int MaxLength = 2 + FieldCount * 4 + McpCallDecision.MaxMethodBytes + McpCallDecision.MaxNameBytes + 3 * MaxNameBytes
        + TaskCreatingCall.MaxKeptArgumentBytes;

    /// <summary>
    /// Writes the plaintext of <paramref name="call"/> (null: none is carried) into <paramref name="destination"/> (at
    /// least <see cref="MaxLength"/> bytes); returns its length.
    /// </summary>
    public static int Write(TaskCreatingCall? call, Span<byte> destination)
    {
        if (call is not null && !Fits(call)) call = null;
        destination[0] = Layout;
        destination[1] = call is null ? (byte)0 : (byte)(CarriesCall | (call.ArgumentsWithheld ? ArgumentsWithheld : 0));
        int at = Put(destination, 2, call?.Method);
        at = Put(destination, at, call?.Target);
        at = Put(destination, at, call?.Rule);
        at = Put(destination, at, call?.Profile);
        at = Put(destination, at, call?.ApprovalId);
        if (call?.Arguments is { } arguments) return Put(destination, at, arguments);
        BinaryPrimitives.WriteUInt32BigEndian(destination[at..], Absent);
        return at + 4;
    }

    /// <summary>Whether the bytes are a plaintext of this layout (false: a key shared with a version that wrote another).</summary>
    public static bool IsWellFormed(ReadOnlySpan<byte> plaintext)
    {
        Span<Range> fields = stackalloc Range[FieldCount];
        return plaintext.Length >= 2 && plaintext[0] == Layout && TrySplit(plaintext, fields, out _);
    }

    /// <summary>The creating call the plaintext carries (null: none). Allocates: once per task a replica binds on presentation.</summary>
    public static TaskCreatingCall? ReadCall(ReadOnlySpan<byte> plaintext)
    {
        Span<Range> fields = stackalloc Range[FieldCount];
        if (plaintext.Length < 2 || plaintext[0] != Layout || !TrySplit(plaintext, fields, out uint absent) || (plaintext[1] & CarriesCall) == 0
            || (absent & 1) != 0) return null;
        bool withheld = (plaintext[1] & ArgumentsWithheld) != 0;
        byte[]? arguments = (absent & 32) != 0 ? null : plaintext[fields[5]].ToArray();
        return new TaskCreatingCall(Encoding.UTF8.GetString(plaintext[fields[0]]), Text(plaintext, fields[1], absent, 2), arguments, withheld && arguments is null,
            approval: null, rule: Text(plaintext, fields[2], absent, 4), profile: Text(plaintext, fields[3], absent, 8), approvalId: Text(plaintext, fields[4], absent, 16));
    }

    private static string? Text(ReadOnlySpan<byte> plaintext, Range field, uint absent, uint bit) =>
        (absent & bit) != 0 ? null : Encoding.UTF8.GetString(plaintext[field]);

    /// <summary>Whether every field of <paramref name="call"/> is within the bounds <see cref="MaxLength"/> counts on.</summary>
    private static bool Fits(TaskCreatingCall call) =>
        Encoding.UTF8.GetByteCount(call.Method) <= McpCallDecision.MaxMethodBytes
        && (call.Target is null || Encoding.UTF8.GetByteCount(call.Target) <= McpCallDecision.MaxNameBytes)
        && Short(call.Rule) && Short(call.Profile) && Short(call.ApprovalId)
        && (call.Arguments is null || call.Arguments.Length <= TaskCreatingCall.MaxKeptArgumentBytes);

    private static bool Short(string? name) => name is null || Encoding.UTF8.GetByteCount(name) <= MaxNameBytes;

    /// <summary>The six fields' ranges, and a bit per absent field (bit i for field i); false when the bytes do not parse exactly.</summary>
    private static bool TrySplit(ReadOnlySpan<byte> plaintext, Span<Range> fields, out uint absent)
    {
        absent = 0;
        int at = 2;
        for (int i = 0; i < FieldCount; i++)
        {
            if (plaintext.Length - at < 4) return false;
            uint length = BinaryPrimitives.ReadUInt32BigEndian(plaintext[at..]);
            at += 4;
            if (length == Absent)
            {
                absent |= 1u << i;
                fields[i] = new Range(at, at);
                continue;
            }
            if (length > (uint)(plaintext.Length - at)) return false;
            fields[i] = new Range(at, at + (int)length);
            at += (int)length;
        }
        return at == plaintext.Length;
    }

    private static int Put(Span<byte> destination, int at, string? field)
    {
        if (field is null)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination[at..], Absent);
            return at + 4;
        }
        int n = Encoding.UTF8.GetBytes(field, destination[(at + 4)..]);
        BinaryPrimitives.WriteInt32BigEndian(destination[at..], n);
        return at + 4 + n;
    }

    private static int Put(Span<byte> destination, int at, byte[] field)
    {
        BinaryPrimitives.WriteInt32BigEndian(destination[at..], field.Length);
        field.CopyTo(destination[(at + 4)..]);
        return at + 4 + field.Length;
    }
}
