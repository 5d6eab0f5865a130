namespace FastMcp.Mcp;

/// <summary>What <see cref="DuplicateMemberScan"/> found in the objects of a message.</summary>
internal enum MemberNameClash : byte
{
    /// <summary>Every object's member names differ, also when letter case is ignored.</summary>
    None,
    /// <summary>Some object names a member twice, byte for byte after unescaping.</summary>
    Duplicate,
    /// <summary>Some object names two members that differ only in letter case (and none twice exactly).</summary>
    CaseVariant,
}
