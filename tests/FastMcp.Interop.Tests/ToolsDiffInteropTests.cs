using System.Text.Json;
using System.Text.Json.Nodes;
using FastMcp.Interop.Tests.Harness;

namespace FastMcp.Interop.Tests;

/// <summary>
/// `fastmcp tools diff` from the real binary (in CI the Native-AOT one, so its JSON report is the source-generated
/// serializer's) against a real gateway whose demo upstream's tools were listed through it: no drift against the
/// pins `tools pin` wrote (exit 0), drift once a pin no longer matches (exit 1, text and JSON), and a pins file that
/// is not one refused with its name (exit 2).
/// </summary>
[Trait("Category", "E2E")]
public sealed class ToolsDiffInteropTests
{
    [Fact]
    public async Task Tools_diff_exits_0_on_the_pins_written_1_on_a_changed_pin_and_2_on_a_bad_file()
    {
        string dir = Directory.CreateTempSubdirectory("fastmcp-interop-toolsdiff-").FullName;
        using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync("""
            {
              "listen": ["127.0.0.1:0"],
              "admin": { "listen": "127.0.0.1:0", "operatorGroups": ["sre"] },
              "identity": { "mode": "dev", "devKeyDirectory": "keys", "resource": "http://127.0.0.1/mcp" },
              "audit": { "directory": "audit" },
              "toolPins": { "mode": "record" },
              "policy": { "rules": [{ "name": "all", "action": "allow" }] }
            }
            """, dir);
        var (tokenExit, token, tokenErr) = await GatewayProcess.RunToolAsync(dir, null,
            "token", "--key-dir", Path.Combine(dir, "keys"), "--sub", "carol", "--groups", "sre", "--ttl", "1h");
        Assert.True(tokenExit == 0, tokenErr);
        await File.WriteAllTextAsync(Path.Combine(dir, "carol.token"), token.Trim());
        RawExchange list = await McpWire.PostAsync(gateway.McpUrl, null, """{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", ("Authorization", "Bearer " + token.Trim()));
        Assert.True(list.Status == 200, list.Body);

        string admin = gateway.AdminUrl.ToString().TrimEnd('/');
        var (pinExit, _, pinErr) = await GatewayProcess.RunToolAsync(dir, null, "tools", "pin", "--admin", admin, "--token-file", "carol.token",
            "--out", "pins.json", "--definitions", "definitions.json");
        Assert.True(pinExit == 0, pinErr);

        var (same, sameOut, sameErr) = await GatewayProcess.RunToolAsync(dir, null, "tools", "diff", "--admin", admin, "--token-file", "carol.token",
            "--pins", "pins.json", "--definitions", "definitions.json");
        Assert.True(same == 0, sameOut + sameErr);
        Assert.Contains("no drift: every tool of 1 upstream(s) is as pinned in pins.json", sameOut, StringComparison.Ordinal);

        // One pin no longer matches what the gateway sees: that tool is changed.
        var pins = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "pins.json")))!.AsObject();
        JsonObject tools = pins["default"]!.AsObject();
        string changed = tools.First().Key;
        tools[changed] = "sha256:" + new string('0', 64);
        await File.WriteAllTextAsync(Path.Combine(dir, "pins.json"), pins.ToJsonString());
        var (drift, driftOut, driftErr) = await GatewayProcess.RunToolAsync(dir, null, "tools", "diff", "--admin", admin, "--token-file", "carol.token",
            "--pins", "pins.json", "--definitions", "definitions.json");
        Assert.True(drift == 1, driftOut + driftErr);
        Assert.Contains($"  changed  '{changed}'  pinned sha256:{new string('0', 64)}, seen sha256:", driftOut, StringComparison.Ordinal);
        Assert.Contains("is the one seen", driftOut, StringComparison.Ordinal);

        var (json, jsonOut, jsonErr) = await GatewayProcess.RunToolAsync(dir, null, "tools", "diff", "--admin", admin, "--token-file", "carol.token",
            "--pins", "pins.json", "--format", "json");
        Assert.True(json == 1, jsonOut + jsonErr);
        using JsonDocument report = JsonDocument.Parse(jsonOut);
        Assert.True(report.RootElement.GetProperty("drift").GetBoolean());
        Assert.Equal(changed, report.RootElement.GetProperty("upstreams")[0].GetProperty("changed")[0].GetProperty("name").GetString());

        await File.WriteAllTextAsync(Path.Combine(dir, "bad.json"), "{\"default\":{\"x\":\"md5:1\"}}");
        var (bad, _, badErr) = await GatewayProcess.RunToolAsync(dir, null, "tools", "diff", "--admin", admin, "--token-file", "carol.token", "--pins", "bad.json");
        Assert.Equal(2, bad);
        Assert.Contains("fastmcp tools diff: --pins: bad.json: default.x: not a digest", badErr, StringComparison.Ordinal);
    }
}
