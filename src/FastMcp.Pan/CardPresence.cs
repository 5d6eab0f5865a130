namespace FastMcp.Pan;

/// <summary>What a <see cref="MessageCardScan"/> knows of a part of the message it scanned.</summary>
public enum CardPresence : byte
{
    /// <summary>Not known from the scan: the part must be scanned itself.</summary>
    Unknown,
    /// <summary>The part holds no card number.</summary>
    Absent,
    /// <summary>The part holds a card number.</summary>
    Present,
}
