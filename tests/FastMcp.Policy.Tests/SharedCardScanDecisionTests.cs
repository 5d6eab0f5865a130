using System.Text;
using System.Text.Json;
using FastMcp.Pan;

namespace FastMcp.Policy.Tests;

/// <summary>
/// containsCardNumber decided on the request's one card-number scan (<see cref="PolicyRequest.Cards"/>) against the same
/// condition scanning what its pointer names, as the oracle: for every pointer into the arguments of random tools/call
/// messages of every card-number form (objects, arrays, strings, numbers, base64 payloads), the verdict is the same.
/// </summary>
public sealed class SharedCardScanDecisionTests
{
    private const int Messages = 1200;

    [Fact]
    public void Every_pointer_is_decided_the_same_with_the_shared_scan_as_by_scanning()
    {
        var scan = new MessageCardScan();
        var masker = new PanMasker(new PanMaskingOptions { FingerprintKey = Encoding.ASCII.GetBytes("test-fingerprint-key-0123456789") });
        var principal = Support.User("alice");
        int decided = 0, denied = 0;
        var engines = new Dictionary<(string, bool), PolicyEngine>();
        for (int seed = 0; seed < Messages; seed++)
        {
            var random = new Random(seed);
            byte[] message = Encoding.UTF8.GetBytes(RandomCardMessages.ToolCall(random, out string arguments, out int offset, plain: seed % 2 == 0));
            byte[] args = Encoding.UTF8.GetBytes(arguments);
            scan.Scan(message, masker);
            foreach (string pointer in Pointers(arguments))
            {
                foreach (bool expected in (bool[])[true, false])
                {
                    if (!engines.TryGetValue((pointer, expected), out PolicyEngine? engine))
                    {
                        engine = Support.Compile(
                            Support.Rule("cards", "deny", r => { r.Methods = ["tools/call"]; r.Arguments = [new() { Pointer = pointer, ContainsCardNumber = expected }]; }),
                            Support.Rule("rest", "allow"));
                        engines[(pointer, expected)] = engine;
                    }
                    PolicyDecision scanned = McpCallDecision.Decide(engine, principal, "tools/call"u8, "echo"u8, args);
                    PolicyDecision shared = McpCallDecision.Decide(engine, principal, "tools/call"u8, "echo"u8, args, cards: scan, argumentsOffset: offset);
                    decided++;
                    if (scanned.Action == PolicyAction.Deny && expected) denied++;
                    Assert.True(scanned.Action == shared.Action && scanned.Rule == shared.Rule,
                        $"seed {seed}, pointer '{pointer}' containsCardNumber {expected}: scanning {scanned.Rule?.Name}, shared scan {shared.Rule?.Name}, in {arguments}");
                }
            }
        }
        Assert.True(denied > decided / 20 && denied < decided / 2, $"{denied} of {decided} decisions found a card number");
    }

    /// <summary>The root and every member and element below it, as JSON pointers.</summary>
    private static List<string> Pointers(string json)
    {
        var pointers = new List<string>();
        using JsonDocument document = JsonDocument.Parse(json);
        Walk(document.RootElement, "", pointers);
        return pointers;
    }

    private static void Walk(JsonElement element, string pointer, List<string> pointers)
    {
        pointers.Add(pointer);
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty member in element.EnumerateObject())
                Walk(member.Value, pointer + "/" + member.Name.Replace("~", "~0").Replace("/", "~1"), pointers);
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (JsonElement item in element.EnumerateArray()) Walk(item, pointer + "/" + i++, pointers);
        }
    }
}
