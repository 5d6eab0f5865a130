using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using FastMcp.Gateway.Tasks;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>
/// The fmt2. sealed task id as docs/mcp-handling.md ("Sealed task ids") specifies it, computed here independently from
/// the card fingerprint key with the platform's HMAC-SHA-256 and AES-256-GCM, and what opening one gives back.
/// </summary>
public sealed class TaskSealFormatTests
{
    private static readonly byte[] CardKey = Convert.FromHexString("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");

    private static Principal Caller(string subject) => new(subject, [], [], null, "https://idp.example", DateTimeOffset.MaxValue);

    private static byte[] LengthPrefixed(params byte[]?[] fields)
    {
        var bytes = new List<byte>();
        foreach (byte[]? field in fields)
        {
            byte[] length = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(length, field is null ? uint.MaxValue : (uint)field.Length);
            bytes.AddRange(length);
            if (field is not null) bytes.AddRange(field);
        }
        return [.. bytes];
    }

    private static byte[]? Utf8(string? text) => text is null ? null : Encoding.UTF8.GetBytes(text);

    /// <summary>The documented computation, step by step.</summary>
    private static string Documented(string issuer, string subject, string upstream, string taskId, TaskCreatingCall call)
    {
        byte[] key = HMACSHA256.HashData(CardKey, "fastmcp task seal v2 key"u8);
        byte[] nonceKey = HMACSHA256.HashData(CardKey, "fastmcp task seal v2 nonce"u8);
        byte[] id = Utf8(taskId)!;
        byte[] associated = LengthPrefixed(Utf8(issuer), Utf8(subject), Utf8(upstream), id);
        byte[] plaintext = [1, (byte)(1 | (call.ArgumentsWithheld ? 2 : 0)),
            .. LengthPrefixed(Utf8(call.Method), Utf8(call.Target), Utf8(call.Rule), Utf8(call.Profile), Utf8(call.ApprovalId), call.Arguments)];
        byte[] nonce = HMACSHA256.HashData(nonceKey, (byte[])[.. associated, .. plaintext])[..12];
        byte[] ciphertext = new byte[plaintext.Length], tag = new byte[16];
        using (var gcm = new AesGcm(key, 16)) gcm.Encrypt(nonce, plaintext, ciphertext, tag, associated);
        return "fmt2." + System.Buffers.Text.Base64Url.EncodeToString([.. nonce, (byte)(id.Length >> 8), (byte)id.Length, .. id, .. ciphertext, .. tag]);
    }

    [Fact]
    public void A_sealed_task_id_is_the_documented_encryption_of_the_id_and_its_creating_call()
    {
        var seal = TaskSeal.Create(CardKey);
        var call = new TaskCreatingCall("tools/call", "research", """{"q":"rates"}"""u8.ToArray(), false, null, "research", "nodigits", "ap-7");
        string sealedId = Encoding.ASCII.GetString(seal.Seal("task-7"u8, call, Caller("alice"), "github"));

        Assert.Equal(Documented("https://idp.example", "alice", "github", "task-7", call), sealedId);
        // The same task and call give the same id (a synthetic nonce), another caller another one.
        Assert.Equal(sealedId, Encoding.ASCII.GetString(seal.Seal("task-7"u8, call, Caller("alice"), "github")));
        Assert.NotEqual(sealedId, Encoding.ASCII.GetString(seal.Seal("task-7"u8, call, Caller("bob"), "github")));
    }

    [Fact]
    public void Opening_gives_back_the_id_and_the_call_for_its_caller_and_upstream_only()
    {
        var seal = TaskSeal.Create(CardKey);
        var call = new TaskCreatingCall("tools/call", "research", null, true, null, "research", null, null);
        byte[] sealedId = seal.Seal("task-7"u8, call, Caller("alice"), "github");
        byte[] plaintext = new byte[TaskSeal.MaxOpenedLength];

        Assert.True(seal.Open(sealedId, Caller("alice"), "github", plaintext, out Range id, out Range carried, out bool v1));
        Assert.False(v1);
        Assert.Equal("task-7", Encoding.UTF8.GetString(plaintext.AsSpan(id)));
        TaskCreatingCall opened = SealedTaskPlaintext.ReadCall(plaintext.AsSpan(carried))!;
        Assert.Equal(("tools/call", "research", "research", (string?)null, (string?)null, true, (byte[]?)null),
            (opened.Method, opened.Target, opened.Rule, opened.Profile, opened.ApprovalId, opened.ArgumentsWithheld, opened.Arguments));

        Assert.False(seal.Open(sealedId, Caller("bob"), "github", plaintext, out _, out _, out _));
        Assert.False(seal.Open(sealedId, Caller("alice"), "gitlab", plaintext, out _, out _, out _));
        Assert.False(TaskSeal.Create(new byte[32]).Open(sealedId, Caller("alice"), "github", plaintext, out _, out _, out _));
        // The task id is in the clear (auditors read it), and authenticated: another one in its place does not open.
        byte[] raw = System.Buffers.Text.Base64Url.DecodeFromUtf8(sealedId.AsSpan(5));
        raw[14 + 5] ^= 1;
        Assert.False(seal.Open(Encoding.ASCII.GetBytes("fmt2." + System.Buffers.Text.Base64Url.EncodeToString(raw)), Caller("alice"), "github", plaintext, out _, out _, out _));
    }

    [Fact]
    public void The_largest_call_seals_within_the_documented_bound_and_overlong_names_travel_without_the_call()
    {
        var seal = TaskSeal.Create(CardKey);
        string longest = new('r', SealedTaskPlaintext.MaxNameBytes);
        var largest = new TaskCreatingCall(new string('m', FastMcp.Policy.McpCallDecision.MaxMethodBytes), new string('t', FastMcp.Policy.McpCallDecision.MaxNameBytes),
            new byte[TaskCreatingCall.MaxKeptArgumentBytes], false, null, longest, longest, longest);
        byte[] sealedId = seal.Seal(new byte[TaskBindings.MaxIdBytes], largest, Caller("alice"), "github");
        Assert.Equal(TaskSeal.MaxSealedLength, sealedId.Length);
        Assert.Equal(9_637, TaskSeal.MaxSealedLength);

        var overlong = new TaskCreatingCall("tools/call", "research", null, false, null, longest + "r");
        byte[] plaintext = new byte[TaskSeal.MaxOpenedLength];
        Assert.True(seal.Open(seal.Seal("task-7"u8, overlong, Caller("alice"), "github"), Caller("alice"), "github", plaintext, out _, out Range carried, out _));
        Assert.Null(SealedTaskPlaintext.ReadCall(plaintext.AsSpan(carried)));
    }

    [Fact]
    public void A_format_1_id_still_opens_to_its_task_id_marked_as_carrying_no_call()
    {
        var seal = TaskSeal.Create(CardKey);
        byte[] old = new byte[seal.V1.SealedLength(6)];
        seal.V1.Seal("task-7"u8, Caller("alice"), "github", old);
        byte[] plaintext = new byte[TaskSeal.MaxOpenedLength];

        Assert.True(seal.Open(old, Caller("alice"), "github", plaintext, out Range id, out Range carried, out bool v1));
        Assert.True(v1);
        Assert.Equal(0, carried.End.Value - carried.Start.Value);
        // Ids longer than any the gateway issues are refused before they are decoded, in either format.
        foreach (string prefix in new[] { "fmt1.", "fmt2." })
            Assert.False(seal.Open(Encoding.ASCII.GetBytes(prefix + new string('A', TaskSeal.MaxSealedLength)), Caller("alice"), "github", plaintext, out _, out _, out _));
        Assert.Equal("task-7", Encoding.UTF8.GetString(plaintext.AsSpan(id)));
    }
}
