using System.Security.Cryptography;
using System.Text;
using FastMcp.Gateway.Sessions;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tests.Sessions;

/// <summary>
/// Sealed session ids as docs/mcp-handling.md ("Sealed session ids") defines them: computed here the plain way from that
/// text, opened only for the caller and upstream they were sealed for, and verified without allocating.
/// </summary>
public sealed class SessionSealTests
{
    private static readonly byte[] CardKey = Convert.FromHexString("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");

    private static Principal Caller(string subject, string? issuer = "https://idp.example") => new(subject, [], [], null, issuer, DateTimeOffset.MaxValue);

    /// <summary>The documented format, written out independently of the implementation.</summary>
    private static string Documented(byte[] cardKey, string issuer, string subject, string upstream, string upstreamId,
        string label = "fastmcp session seal v1", string prefix = "fms1.") =>
        Documented(cardKey, issuer, subject, upstream, Encoding.ASCII.GetBytes(upstreamId), label, prefix);

    private static string Documented(byte[] cardKey, string issuer, string subject, string upstream, byte[] upstreamId, string label, string prefix)
    {
        byte[] k = HMACSHA256.HashData(cardKey, Encoding.ASCII.GetBytes(label));
        var message = new MemoryStream();
        foreach (byte[] field in new[] { Encoding.UTF8.GetBytes(issuer), Encoding.UTF8.GetBytes(subject), Encoding.UTF8.GetBytes(upstream), upstreamId })
        {
            message.Write([(byte)(field.Length >> 24), (byte)(field.Length >> 16), (byte)(field.Length >> 8), (byte)field.Length]);
            message.Write(field);
        }
        byte[] tag = HMACSHA256.HashData(k, message.ToArray())[..16];
        string b64 = Convert.ToBase64String([.. tag, .. upstreamId]);
        return prefix + b64.TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    private static string Seal(IdSeal seal, string upstreamId, Principal caller, string upstream)
    {
        byte[] id = Encoding.ASCII.GetBytes(upstreamId);
        var sealedId = new byte[seal.SealedLength(id.Length)];
        Assert.Equal(sealedId.Length, seal.Seal(id, caller, upstream, sealedId));
        return Encoding.ASCII.GetString(sealedId);
    }

    private static string? Open(IdSeal seal, string sealedId, Principal caller, string upstream)
    {
        var id = new byte[sealedId.Length];
        int n = seal.Open(Encoding.ASCII.GetBytes(sealedId), caller, upstream, id);
        return n < 0 ? null : Encoding.ASCII.GetString(id, 0, n);
    }

    [Fact]
    public void A_sealed_id_is_the_documented_format_and_opens_to_the_upstreams_id()
    {
        var seal = IdSeal.ForSessions(CardKey);
        string sealedId = Seal(seal, "0c6f4d9e-2b7a-41f3", Caller("alice"), "github");
        Assert.Equal(Documented(CardKey, "https://idp.example", "alice", "github", "0c6f4d9e-2b7a-41f3"), sealedId);
        Assert.Equal("0c6f4d9e-2b7a-41f3", Open(seal, sealedId, Caller("alice"), "github"));
        // No issuer is encoded as an empty one.
        Assert.Equal(Documented(CardKey, "", "alice", "github", "s-1"), Seal(seal, "s-1", Caller("alice", issuer: null), "github"));
    }

    [Fact]
    public void A_sealed_id_does_not_open_for_another_caller_issuer_upstream_or_key()
    {
        var seal = IdSeal.ForSessions(CardKey);
        string sealedId = Seal(seal, "s-1", Caller("alice"), "github");
        Assert.Null(Open(seal, sealedId, Caller("mallory"), "github"));
        Assert.Null(Open(seal, sealedId, Caller("alice", "https://other-idp.example"), "github"));
        Assert.Null(Open(seal, sealedId, Caller("alice"), "jira"));
        Assert.Null(Open(IdSeal.ForSessions([.. CardKey.Reverse()]), sealedId, Caller("alice"), "github"));
        // Field boundaries count: "ab"+"c" is not "a"+"bc".
        Assert.Null(Open(seal, Seal(seal, "s-1", Caller("bc", "a"), "github"), Caller("c", "ab"), "github"));
        Assert.Equal("s-1", Open(IdSeal.ForSessions(CardKey), sealedId, Caller("alice"), "github"));
    }

    [Fact]
    public void A_sealed_task_id_is_the_documented_task_format_and_a_session_id_never_opens_as_one()
    {
        var tasks = IdSeal.ForTasks(CardKey);
        var sessions = IdSeal.ForSessions(CardKey);
        string sealedTask = Seal(tasks, "task-7", Caller("alice"), "github");
        Assert.Equal(Documented(CardKey, "https://idp.example", "alice", "github", "task-7", "fastmcp task seal v1", "fmt1."), sealedTask);
        Assert.Equal("task-7", Open(tasks, sealedTask, Caller("alice"), "github"));
        // Another label: a session id with its prefix swapped still fails its tag, and a task id never opens as a session.
        string sealedSession = Seal(sessions, "task-7", Caller("alice"), "github");
        Assert.Null(Open(tasks, sealedSession, Caller("alice"), "github"));
        Assert.Null(Open(tasks, "fmt1." + sealedSession["fms1.".Length..], Caller("alice"), "github"));
        Assert.Null(Open(sessions, sealedTask, Caller("alice"), "github"));
    }

    [Fact]
    public void A_sealed_federated_id_is_the_documented_format_opens_only_as_one_and_without_allocating()
    {
        var sessions = IdSeal.ForSessions(CardKey);
        IdSeal federated = sessions.FederatedSessions!;
        Assert.Null(federated.FederatedSessions);
        // P as mcp-handling.md writes it: format 1, two members; "a" initialized (2025-06-18, session s-a-1), "b" not.
        byte[] payload = [1, 0, 2, 1, 0, 1, (byte)'a', 0, 10, .. "2025-06-18"u8, 0, 5, .. "s-a-1"u8, 0, 0, 1, (byte)'b', 0, 0, 0, 0];
        Principal alice = Caller("alice");
        var sealedId = new byte[federated.SealedLength(payload.Length)];
        Assert.Equal(sealedId.Length, federated.Seal(payload, alice, "/mcp/all", sealedId));
        Assert.Equal(Documented(CardKey, "https://idp.example", "alice", "/mcp/all", payload, "fastmcp federated session seal v1", "fmf1."),
            Encoding.ASCII.GetString(sealedId));
        var opened = new byte[sealedId.Length];
        Assert.Equal(payload, opened.AsSpan(0, federated.Open(sealedId, alice, "/mcp/all", opened)).ToArray());
        // Its own label: not a plain session's id, not another path's, not another caller's.
        Assert.Equal(-1, sessions.Open(Encoding.ASCII.GetBytes("fms1." + Encoding.ASCII.GetString(sealedId)["fmf1.".Length..]), alice, "/mcp/all", opened));
        Assert.Equal(-1, federated.Open(sealedId, alice, "/mcp/other", opened));
        Assert.Equal(-1, federated.Open(sealedId, Caller("mallory"), "/mcp/all", opened));
        Action verify = () =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                if (federated.Open(sealedId, alice, "/mcp/all", opened) != payload.Length) Assert.Fail("verification changed");
            }
        };
        verify();
        Assert.Equal(0, ThreadAllocations.Measure(verify));
    }

    [Fact]
    public void Verifying_a_sealed_id_allocates_nothing()
    {
        var seal = IdSeal.ForSessions(CardKey);
        Principal alice = Caller("alice");
        byte[] sealedId = Encoding.ASCII.GetBytes(Seal(seal, "0c6f4d9e2b7a41f3a8e5d1c2b3a49f87", alice, "github"));
        byte[] forged = (byte[])sealedId.Clone();
        forged[7] ^= 1;
        var lines = new SealedSessionLines();
        // Every checked path once before counting (first calls may allocate in the runtime).
        Assert.False(lines.TryOpen(seal, forged, alice, "github"));
        Assert.True(lines.TryOpen(seal, sealedId, alice, "github"));
        lines.SealAnswered(seal, "0c6f4d9e2b7a41f3a8e5d1c2b3a49f87"u8, alice, "github");
        Action verify = () =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                lines.Reset();
                if (lines.TryOpen(seal, forged, alice, "github") || !lines.TryOpen(seal, sealedId, alice, "github")) Assert.Fail("verification changed");
                lines.SealAnswered(seal, "0c6f4d9e2b7a41f3a8e5d1c2b3a49f87"u8, alice, "github");
            }
        };
        Assert.Equal(0, ThreadAllocations.Measure(verify));
        Assert.Equal("0c6f4d9e2b7a41f3a8e5d1c2b3a49f87"u8.ToArray(), lines.UpstreamId.ToArray());
        Assert.Equal("Mcp-Session-Id: " + Encoding.ASCII.GetString(sealedId) + "\r\n", Encoding.ASCII.GetString(lines.ClientLine));
    }
}
