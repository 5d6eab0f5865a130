namespace FastMcp.Policy;

/// <summary>
/// A rule's "time" condition: when, by the gateway's clock at decision time, the rule applies. Every part that is set
/// must hold. A weekly window (days, from/to) is read on the wall clock of <see cref="TimeZone"/>; the absolute bounds
/// are instants.
/// </summary>
public sealed class TimeConditionOptions
{
    /// <summary>IANA time zone of the weekly window ("Europe/Berlin", "UTC"); required with days, from or to.</summary>
    public string? TimeZone { get; set; }

    /// <summary>Days the window is open, "mon" to "sun"; with a window that wraps midnight, the day it starts in. Empty: every day.</summary>
    public List<string>? Days { get; set; }

    /// <summary>Local time of day the window opens, "HH:mm" (inclusive). Set with <see cref="To"/>.</summary>
    public string? From { get; set; }

    /// <summary>Local time of day the window closes, "HH:mm" (exclusive); earlier than From: the window wraps past midnight.</summary>
    public string? To { get; set; }

    /// <summary>ISO 8601 instant with a zone ("2026-12-20T00:00:00Z", "...+01:00") before which the rule does not apply.</summary>
    public string? NotBefore { get; set; }

    /// <summary>ISO 8601 instant with a zone from which on the rule no longer applies (exclusive).</summary>
    public string? NotAfter { get; set; }
}
