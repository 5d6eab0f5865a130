namespace FastMcp.Gateway.Configuration;

/// <summary>
/// A named masking profile (masking.profiles): an allow rule's maskProfile picks it for the exchanges that rule
/// allows, a require_approval rule's for the call it stops once approved or granted. Unset fields take the value of the masking section itself. Responses and the audit record are always
/// masked; a profile chooses how many digits stay visible and what a card number in the request does.
/// </summary>
public sealed class MaskingProfileOptions
{
    /// <summary>Leading digits kept visible: 0, 6 or 8.</summary>
    public int? KeepFirst { get; set; }

    /// <summary>Trailing digits kept visible (at most 4).</summary>
    public int? KeepLast { get; set; }

    /// <summary>"mask", "forward" or "block", as masking.requests.</summary>
    public string? Requests { get; set; }

    /// <summary>"detect", "mask" or "block", as masking.numbers.</summary>
    public string? Numbers { get; set; }
}
