using System.Buffers;
using System.Text;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;
using FastMcp.Pan;
using FastMcp.Pan.Payloads;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The request's one card-number scan, shared by the policy's containsCardNumber and request masking, through the real
/// gateway (the benchmark's rule: containsCardNumber on the whole arguments, requests masked): random tools/call messages
/// of every card-number form are denied exactly when scanning the arguments finds one, and what the upstream gets of the
/// others is byte for byte the body masked as the masker masks it alone (payloads, then strings).
/// </summary>
public sealed class SharedCardScanGatewayTests
{
    private const int Messages = 200;

    [Fact]
    public async Task Random_calls_are_decided_and_masked_as_scanning_each_part_decides_and_masks()
    {
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "no-cards", Action = "deny", Methods = ["tools/call"], Message = "arguments may not contain card numbers",
                Arguments = [new ArgumentConditionOptions { Pointer = "", ContainsCardNumber = true }] },
            new RuleOptions { Name = "all", Action = "allow" },
        ];
        await using CardGateway g = await CardGateway.StartAsync(rules: rules);
        var masker = new PanMasker(new PanMaskingOptions { ComputeFingerprints = false });
        int denied = 0, forwarded = 0, forwardedMasked = 0;
        for (int seed = 0; seed < Messages; seed++)
        {
            var random = new Random(seed);
            // Half without escapes, payloads or sensitive members: the requests whose body masking then skips.
            string json = RandomCardMessages.ToolCall(random, out string arguments, out _, plain: seed % 2 == 0);
            byte[] body = Encoding.UTF8.GetBytes(json);
            // Case-variant member names ("data" beside "Data") are refused before any of this.
            if (McpInspector.Inspect(new ReadOnlySequence<byte>(body), out _) != McpInspectError.None) continue;
            byte[] args = Encoding.UTF8.GetBytes(arguments);
            bool holdsCard = PanMasker.ContainsCardNumber(args) || Base64Payloads.ContainsCardNumber(args);
            byte[] masked = (byte[])body.Clone();
            bool unmaskable = Base64Payloads.MaskInPlace(masker, masked) == Base64Payloads.Result.Refused;
            PanMaskCounts counts = default;
            masker.MaskStringsInPlace(new ReadOnlySequence<byte>(masked), ref counts, out _);

            int before = g.Upstream.Requests.Count;
            RawResponse answer = await g.PostAsync(json);
            if (holdsCard)
            {
                denied++;
                Assert.Equal((-32001, "1"), answer.JsonRpcError());
                Assert.Contains("may not contain card numbers", answer.Body);
                Assert.Equal(before, g.Upstream.Requests.Count);
                continue;
            }
            if (unmaskable)
            {
                Assert.Contains("request contains a card number", answer.Body);
                continue;
            }
            forwarded++;
            Assert.Equal(before + 1, g.Upstream.Requests.Count);
            byte[] received = g.Upstream.Requests.Last().BodyBytes;
            if (!received.AsSpan().SequenceEqual(body)) forwardedMasked++;
            Assert.True(received.AsSpan().SequenceEqual(masked), $"seed {seed}: upstream got {Encoding.UTF8.GetString(received)}, masking alone gives {Encoding.UTF8.GetString(masked)}");
        }
        Assert.True(denied > 10 && forwarded > 10 && forwardedMasked > 5, $"denied {denied}, forwarded {forwarded} ({forwardedMasked} masked)");
    }
}
