namespace FastMcp.Pan;

/// <summary>Sensitive authentication data (PCI DSS 3.3.1) the masker masked whole: it may not be kept even masked.</summary>
public enum SensitiveDataKind : byte
{
    /// <summary>Track 1 or track 2 data after a card number (expiry, service code, discretionary data, a track 1 name).</summary>
    Track,
    /// <summary>The value of a member named as a card security code or PIN (masking.sensitiveMembers).</summary>
    Member,
}
