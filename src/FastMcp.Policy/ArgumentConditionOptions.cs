using System.Text.Json.Serialization;

namespace FastMcp.Policy;

/// <summary>
/// A test on one value inside the call's arguments, addressed by a JSON pointer (RFC 6901).
/// Set exactly one operator: equals, in, regex, exists, containsCardNumber, containsSensitiveData, or the numeric bounds
/// (greaterThan, greaterThanOrEqual, lessThan, lessThanOrEqual, combinable into a range).
/// </summary>
public sealed class ArgumentConditionOptions
{
    /// <summary>JSON pointer into the arguments object, e.g. "/path" or "/options/0/name"; "" is the whole arguments object.</summary>
    public string Pointer { get; set; } = "";

    /// <summary>Value equals this: a string's text, or the literal of a number, true, false or null.</summary>
    [JsonPropertyName("equals")]
    public string? EqualsValue { get; set; }

    /// <summary>Value equals one of these (same comparison as equals).</summary>
    public List<string>? In { get; set; }

    /// <summary>A string value matches this .NET regular expression (non-backtracking engine; unanchored unless you anchor it).</summary>
    public string? Regex { get; set; }

    public double? GreaterThan { get; set; }
    public double? GreaterThanOrEqual { get; set; }
    public double? LessThan { get; set; }
    public double? LessThanOrEqual { get; set; }

    /// <summary>true: the pointer resolves; false: it does not.</summary>
    public bool? Exists { get; set; }

    /// <summary>true: the value (a string, number, or any object or array below the pointer) contains a Luhn-valid card number.</summary>
    public bool? ContainsCardNumber { get; set; }

    /// <summary>
    /// true: the value holds sensitive authentication data as masking finds it: track data after a card number, or a
    /// member named in masking.sensitiveMembers (a card security code, a PIN) with a value masking would blank.
    /// </summary>
    public bool? ContainsSensitiveData { get; set; }

    /// <summary>Inverts the condition (a missing value then matches).</summary>
    public bool Negate { get; set; }
}
