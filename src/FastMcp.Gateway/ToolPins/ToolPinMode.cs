namespace FastMcp.Gateway.ToolPins;

/// <summary>What a tool definition that differs from its pin does on one upstream (toolPins.mode).</summary>
internal enum ToolPinMode : byte
{
    /// <summary>Nothing is read: today's relay, at no cost.</summary>
    Off,
    /// <summary>Logged, counted and recorded; the list is relayed unchanged and calls pass.</summary>
    Record,
    /// <summary>Withheld from the list, and its calls refused.</summary>
    Enforce,
}
