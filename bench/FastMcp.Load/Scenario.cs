namespace FastMcp.Load;

/// <summary>One kind of tools/call the load generator sends.</summary>
internal enum CallKind : byte
{
    /// <summary>tools/call "echo": a small JSON result.</summary>
    Echo,
    /// <summary>tools/call "cards": a result whose text carries test card numbers.</summary>
    Cards,
    /// <summary>tools/call "stream": an SSE answer with progress notifications, then the result.</summary>
    Stream,
    /// <summary>tools/call "drop_database": a call a gateway policy is expected to deny.</summary>
    Deny,
}

/// <summary>A named workload: the repeating sequence of calls each connection sends after initialize.</summary>
internal sealed class Scenario
{
    private Scenario(string name, CallKind[] cycle)
    {
        Name = name;
        Cycle = cycle;
    }

    public string Name { get; }
    public CallKind[] Cycle { get; }

    public const string Names = "echo | cards | stream | mixed";

    /// <summary>mixed: three allowed echo calls to one call that policy should deny.</summary>
    public static Scenario? Find(string name) => name switch
    {
        "echo" => new Scenario(name, [CallKind.Echo]),
        "cards" => new Scenario(name, [CallKind.Cards]),
        "stream" => new Scenario(name, [CallKind.Stream]),
        "mixed" => new Scenario(name, [CallKind.Echo, CallKind.Echo, CallKind.Echo, CallKind.Deny]),
        _ => null,
    };
}
