using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace FastMcp.Mcp.Tests;

/// <summary>
/// Random messages (random member order, escapes, whitespace, extra members, id types) compared against
/// System.Text.Json's JsonDocument as the reference reader; and random corruptions, which must never be
/// accepted when the reference rejects them. Fixed seeds: failures reproduce.
/// </summary>
public class DifferentialTests
{
    private static readonly string[] Methods = ["tools/call", "prompts/get", "resources/read", "tools/list", "ping", "server/discover", "x-custom/op", "completion/complete"];

    private static string Escape(Random rng, string s)
    {
        // Randomly writes characters as \uXXXX (or short escapes) so that escape handling is always exercised.
        var sb = new StringBuilder();
        for (int k = 0; k < s.Length; k++)
        {
            char c = s[k];
            int roll = rng.Next(10);
            if (char.IsHighSurrogate(c))
            {
                // Keep a pair together: both escaped or both raw.
                if (roll == 0) sb.Append($"\\u{(int)c:x4}\\u{(int)s[k + 1]:x4}");
                else sb.Append(c).Append(s[k + 1]);
                k++;
                continue;
            }
            if (c == '"' || c == '\\') sb.Append('\\').Append(c);
            else if (c == '/' && roll < 3) sb.Append("\\/");
            else if (roll == 0 || c < 0x20) sb.Append("\\u").Append(((int)c).ToString(rng.Next(2) == 0 ? "x4" : "X4"));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static string Ws(Random rng) => rng.Next(4) switch { 0 => " ", 1 => "\n\t", _ => "" };

    private static string Member(Random rng, string key, string value) => $"{Ws(rng)}\"{Escape(rng, key)}\"{Ws(rng)}:{Ws(rng)}{value}{Ws(rng)}";

    private static string Obj(Random rng, List<string> members)
    {
        // Shuffle member order.
        for (int i = members.Count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (members[i], members[j]) = (members[j], members[i]);
        }
        return "{" + string.Join(",", members) + "}";
    }

    private static string RandomText(Random rng)
    {
        string[] pieces = ["get", "_", "weather", "é", "世界", "😀", " ", "/", "\"", "\\", "file://", "x", "\n", "=?base64?"];
        var sb = new StringBuilder();
        int n = rng.Next(1, 6);
        for (int i = 0; i < n; i++) sb.Append(pieces[rng.Next(pieces.Length)]);
        return sb.ToString();
    }

    private static (string Json, string Method, string? IdRaw, string? Name) Generate(Random rng)
    {
        string method = Methods[rng.Next(Methods.Length)];
        string? idRaw = rng.Next(4) switch
        {
            0 => null,
            1 => rng.Next(-1000, 1000).ToString(),
            2 => "\"" + Escape(rng, RandomText(rng)) + "\"",
            _ => "1.5e2",
        };
        string name = RandomText(rng);
        var paramMembers = new List<string>();
        bool byUri = method == "resources/read";
        bool byName = method is "tools/call" or "prompts/get";
        if (byName || rng.Next(3) == 0) paramMembers.Add(Member(rng, "name", "\"" + Escape(rng, name) + "\""));
        if (byUri) paramMembers.Add(Member(rng, "uri", "\"" + Escape(rng, name) + "\""));
        bool byRef = method == "completion/complete";
        if (byRef)
        {
            bool prompt = rng.Next(2) == 0;
            paramMembers.Add(Member(rng, "ref", Obj(rng,
            [
                Member(rng, "type", "\"" + Escape(rng, prompt ? "ref/prompt" : "ref/resource") + "\""),
                Member(rng, prompt ? "name" : "uri", "\"" + Escape(rng, name) + "\""),
            ])));
            paramMembers.Add(Member(rng, "argument", Obj(rng, [Member(rng, "name", "\"not the name\""), Member(rng, "value", "\"v\"")])));
        }
        if (rng.Next(2) == 0) paramMembers.Add(Member(rng, "arguments", Obj(rng, [Member(rng, "a", "[1,{\"b\":null},\"c\"]"), Member(rng, "name", "\"not the name\"")])));
        if (rng.Next(2) == 0) paramMembers.Add(Member(rng, "_meta", Obj(rng, [Member(rng, "io.modelcontextprotocol/protocolVersion", "\"2026-07-28\""), Member(rng, "other", "{\"name\":\"x\"}")])));
        if (rng.Next(2) == 0) paramMembers.Add(Member(rng, "extra", "[true,false,-0.0,{\"uri\":\"u\"}]"));
        var top = new List<string>
        {
            Member(rng, "jsonrpc", "\"2.0\""),
            Member(rng, "method", "\"" + Escape(rng, method) + "\""),
        };
        if (idRaw is not null) top.Add(Member(rng, "id", idRaw));
        if (paramMembers.Count > 0 || byName || byUri || byRef) top.Add(Member(rng, "params", Obj(rng, paramMembers)));
        if (rng.Next(3) == 0) top.Add(Member(rng, "unrelated", "{\"method\":\"tools/call\",\"id\":[]}"));
        return (Ws(rng) + Obj(rng, top) + Ws(rng), method, idRaw, byName || byUri || byRef ? name : null);
    }

    [Fact]
    public void Random_valid_messages_match_the_reference_reader()
    {
        var rng = new Random(20261124);
        byte[] buffer = new byte[512];
        for (int i = 0; i < 1500; i++)
        {
            var (json, method, idRaw, name) = Generate(rng);
            byte[] bytes = Encoding.UTF8.GetBytes(json);
            using JsonDocument reference = JsonDocument.Parse(bytes); // the generator only makes valid JSON
            ReadOnlySequence<byte> body = rng.Next(2) == 0
                ? new ReadOnlySequence<byte>(bytes)
                : Segments.Split(bytes, rng.Next(bytes.Length + 1));
            McpInspectError error = McpInspector.Inspect(body, out McpCall call);
            Assert.True(error == McpInspectError.None, $"case {i}: {error} for {json}");
            Assert.Equal(McpMethods.Parse(Encoding.UTF8.GetBytes(method)), call.Method);
            Assert.True(McpInspector.UnescapedEquals(body, call.MethodRange, Encoding.UTF8.GetBytes(method)), json);
            Assert.Equal(idRaw is null ? McpMessageKind.Notification : McpMessageKind.Request, call.Kind);
            if (idRaw is not null)
            {
                Assert.Equal(reference.RootElement.GetProperty("id").GetRawText(), Segments.Text(body, call.IdRange));
            }
            if (name is not null)
            {
                int n = McpInspector.CopyUnescaped(body, call.NameRange, buffer);
                Assert.True(n >= 0, $"case {i}: name not copied from {json}");
                Assert.Equal(name, Encoding.UTF8.GetString(buffer, 0, n));
            }
            else
            {
                Assert.False(call.HasName);
            }
            if (reference.RootElement.TryGetProperty("params", out JsonElement p) && p.TryGetProperty("arguments", out JsonElement args))
            {
                Assert.Equal(args.GetRawText(), Segments.Text(body, call.ArgumentsRange));
            }
        }
    }

    [Fact]
    public void Corrupted_messages_are_never_accepted_when_the_reference_rejects_them()
    {
        var rng = new Random(7);
        byte[] alphabet = "{}[]\",:\\ u0aZ\u00e9"u8.ToArray();
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(Generate(rng).Json);
            int edits = rng.Next(1, 3);
            for (int e = 0; e < edits; e++)
            {
                int at = rng.Next(bytes.Length);
                switch (rng.Next(3))
                {
                    case 0: bytes[at] = alphabet[rng.Next(alphabet.Length)]; break;
                    case 1: bytes = bytes[..at]; break;
                    default: bytes[at] = (byte)rng.Next(256); break;
                }
                if (bytes.Length == 0) break;
            }
            bool referenceAccepts = Utf8.IsValid(bytes) && ReferenceParses(bytes);
            McpInspectError error = McpInspector.Inspect(Segments.Split(bytes, rng.Next(bytes.Length + 1)), out _);
            if (!referenceAccepts)
            {
                Assert.True(error != McpInspectError.None, $"case {i}: accepted {Convert.ToHexString(bytes)} / {Encoding.UTF8.GetString(bytes)}");
            }
            else
            {
                Assert.NotEqual(McpInspectError.InvalidJson, error);
            }
        }
    }

    private static bool ReferenceParses(byte[] bytes)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = McpInspector.MaxDepth });
            // JsonDocument defers string validation: touch every string so that bad escapes surface.
            Walk(doc.RootElement);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void Walk(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (JsonProperty p in e.EnumerateObject()) { _ = p.Name; Walk(p.Value); }
                break;
            case JsonValueKind.Array:
                foreach (JsonElement x in e.EnumerateArray()) Walk(x);
                break;
            case JsonValueKind.String:
                _ = e.GetString();
                break;
        }
    }
}
