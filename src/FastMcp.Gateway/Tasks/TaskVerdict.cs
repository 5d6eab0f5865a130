using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// The last decision that admitted a task's creating call: the engine it was taken under, the caller's principal it was
/// taken for (one per verified token), and the masking profile of the allowing rule (null: the default). While the same
/// engine, without time conditions, decides the same principal, it stands: a request on the task costs two reference
/// compares. Immutable, so a binding swaps it whole (no torn pairing of engine and profile).
/// </summary>
internal sealed class TaskVerdict(PolicyEngine? engine, Principal principal, string? maskProfile)
{
    /// <summary>Null: decided without a policy stage (nothing to decide again).</summary>
    public PolicyEngine? Engine { get; } = engine;
    public Principal Principal { get; } = principal;
    public string? MaskProfile { get; } = maskProfile;

    /// <summary>Still stands for <paramref name="principal"/> under <paramref name="engine"/>.</summary>
    public bool Stands(PolicyEngine? engine, Principal principal) =>
        ReferenceEquals(Engine, engine) && ReferenceEquals(Principal, principal) && engine is not { ReadsClock: true };
}
