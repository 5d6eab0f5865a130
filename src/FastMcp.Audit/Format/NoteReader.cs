namespace FastMcp.Audit.Format;

/// <summary>Typed access to a parsed note's fields that records the first malformed one.</summary>
internal ref struct NoteReader(AuditNote note)
{
    public string? Error { get; private set; }

    public string Text(string key) => note[key];

    /// <summary>Records a problem found by the caller (the first one wins).</summary>
    public void Fail(string message) => Error ??= message;

    public long Long(string key)
    {
        if (NoteValues.TryLong(note[key], out long v)) return v;
        Error ??= $"note field '{key}' is not a canonical non-negative integer";
        return 0;
    }

    public long Time(string key)
    {
        if (NoteValues.TryTime(note[key], out long v)) return v;
        Error ??= $"note field '{key}' is not a canonical UTC timestamp";
        return 0;
    }

    public byte[] Hash(string key)
    {
        if (NoteValues.TryHash(note[key], out var v)) return v;
        Error ??= $"note field '{key}' is not a 64-digit lowercase hex hash";
        return new byte[32];
    }

    public bool Flag(string key)
    {
        switch (note[key])
        {
            case "yes": return true;
            case "no": return false;
            default: Error ??= $"note field '{key}' is not yes or no"; return false;
        }
    }

    public string Chain(string key)
    {
        string v = note[key];
        if (!ChainIdRules.IsValid(v)) Error ??= $"note field '{key}' is not a valid chain id";
        return v;
    }
}
