namespace FastMcp.Policy;

/// <summary>What a <see cref="JsonPointer"/> found in a JSON value.</summary>
internal enum PointerLookup : byte
{
    /// <summary>Nothing at the pointer, and no member a case-insensitive decoder would read there.</summary>
    Missing,
    /// <summary>The value at the pointer; the reader is on it.</summary>
    Found,
    /// <summary>
    /// A step found no member of its exact name but one a case-insensitive decoder reads as it (<c>"PATH"</c> for
    /// <c>/path</c>): what the upstream sees there cannot be known, so the condition cannot be compared.
    /// </summary>
    CaseVariant,
}
