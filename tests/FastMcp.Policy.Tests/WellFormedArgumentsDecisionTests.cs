using System.Text;
using FastMcp.Pan;
using FastMcp.Testing;

namespace FastMcp.Policy.Tests;

/// <summary>
/// A condition on the whole arguments (pointer "") decided on arguments known to be well formed
/// (<see cref="PolicyRequest.ArgumentsWellFormed"/>: read as they are, no reader stepping over them) against the same
/// condition reading them as before, as the oracle: containsCardNumber and containsSensitiveData, expected true or false,
/// negated or not, with the request's card scan and without, on random tools/call arguments of every card-number form,
/// on arrays, and on texts that are not one container (whitespace around, scalars), where the reading stays the old one.
/// </summary>
public sealed class WellFormedArgumentsDecisionTests
{
    private const int Messages = 1500;

    [Fact]
    public void Whole_arguments_conditions_decide_the_same_read_as_they_are_as_when_stepped_over()
    {
        var scan = new MessageCardScan();
        var masker = new PanMasker(new PanMaskingOptions { FingerprintKey = Encoding.ASCII.GetBytes("test-fingerprint-key-0123456789") });
        var principal = Support.User("alice");
        ArgumentConditionOptions[] conditions = [.. Conditions()];
        PolicyEngine[] engines = [.. conditions.Select(c => Support.Compile(
            Support.Rule("whole", "deny", r => { r.Methods = ["tools/call"]; r.Arguments = [c]; }),
            Support.Rule("rest", "allow")))];
        int decided = 0, denied = 0;
        for (int seed = 0; seed < Messages; seed++)
        {
            var random = new Random(seed);
            byte[] message = Encoding.UTF8.GetBytes(RandomCardMessages.ToolCall(random, out string arguments, out int offset, plain: seed % 3 == 0));
            scan.Scan(message, masker);
            string text = (seed % 10) switch
            {
                // An array, and texts that are not one container: the shortcut must leave them to the reader.
                7 => "[" + arguments + "," + RandomCardMessages.Value(random, 0) + "]",
                8 => " " + arguments,
                9 => arguments + " ",
                _ => arguments,
            };
            byte[] args = Encoding.UTF8.GetBytes(text);
            bool scanFits = text == arguments;
            for (int e = 0; e < engines.Length; e++)
            {
                PolicyEngine engine = engines[e];
                foreach (bool withScan in (bool[])[false, true])
                {
                    MessageCardScan? cards = withScan && scanFits ? scan : null;
                    PolicyDecision read = McpCallDecision.Decide(engine, principal, "tools/call"u8, "echo"u8, args, cards: cards, argumentsOffset: offset);
                    PolicyDecision asIs = McpCallDecision.Decide(engine, principal, "tools/call"u8, "echo"u8, args, cards: cards, argumentsOffset: offset,
                        argumentsWellFormed: true);
                    decided++;
                    if (read.Rule?.Name == "whole") denied++;
                    Assert.True(read.Action == asIs.Action && read.Rule == asIs.Rule,
                        $"seed {seed}, condition {Describe(conditions[e])}, scan {withScan}: read {read.Rule?.Name}, as they are {asIs.Rule?.Name}, in {text}");
                }
            }
        }
        // Both verdicts occur often: a condition that always matched or never did would hold nothing to account.
        Assert.True(denied > decided / 5 && denied < decided * 4 / 5, $"{denied} of {decided} decisions matched the whole-arguments rule");
    }

    private static IEnumerable<ArgumentConditionOptions> Conditions()
    {
        foreach (bool expected in (bool[])[true, false])
        {
            foreach (bool negate in (bool[])[false, true])
            {
                yield return new() { Pointer = "", ContainsCardNumber = expected, Negate = negate };
                yield return new() { Pointer = "", ContainsSensitiveData = expected, Negate = negate };
            }
        }
    }

    private static string Describe(ArgumentConditionOptions c) =>
        $"{(c.ContainsCardNumber is { } card ? $"containsCardNumber {card}" : $"containsSensitiveData {c.ContainsSensitiveData}")}, negate {c.Negate}";
}
