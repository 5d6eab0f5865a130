using System.Text.Json;

namespace FastMcp.Identity;

/// <summary>Builds a <see cref="Principal"/> from a token's claims according to <see cref="ClaimMappingOptions"/>.</summary>
public static class ClaimMapper
{
    /// <summary>Maps the claims object (a JWT payload). Returns null with a reason when no subject can be found.</summary>
    public static Principal? Map(JsonElement claims, ClaimMappingOptions mapping, DateTimeOffset expiresUtc, out string? error)
    {
        error = null;
        if (claims.ValueKind != JsonValueKind.Object)
        {
            error = "claims are not a JSON object";
            return null;
        }
        string? clientId = ReadString(claims, mapping.ClientIdClaim) ?? ReadString(claims, "azp");
        // Client-credentials tokens may carry no sub; RFC 9068 then names the client as the subject.
        string? subject = ReadString(claims, mapping.SubjectClaim) ?? clientId;
        if (string.IsNullOrEmpty(subject))
        {
            error = $"token has no '{mapping.SubjectClaim}' claim";
            return null;
        }
        string[] groups = ReadList(claims, mapping.GroupsClaim);
        string[] scopes = ReadList(claims, mapping.ScopeClaim);
        if (scopes.Length == 0 && mapping.ScopeClaim == "scope")
            scopes = ReadList(claims, "scp");
        string? issuer = ReadString(claims, "iss");
        return new Principal(subject, groups, scopes, clientId, issuer, expiresUtc);
    }

    /// <summary>Finds a claim by literal name first, then as a dotted path through nested objects.</summary>
    public static bool TryFind(JsonElement claims, string name, out JsonElement value)
    {
        value = default;
        if (string.IsNullOrEmpty(name) || claims.ValueKind != JsonValueKind.Object)
            return false;
        if (claims.TryGetProperty(name, out value))
            return true;
        if (!name.Contains('.'))
            return false;
        var current = claims;
        foreach (var part in name.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(part, out current))
                return false;
        }
        value = current;
        return true;
    }

    private static string? ReadString(JsonElement claims, string name)
    {
        if (!TryFind(claims, name, out var value))
            return null;
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
    }

    private static string[] ReadList(JsonElement claims, string name)
    {
        if (!TryFind(claims, name, out var value))
            return [];
        if (value.ValueKind == JsonValueKind.String)
            return (value.GetString() ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (value.ValueKind != JsonValueKind.Array)
            return [];
        var list = new List<string>(value.GetArrayLength());
        foreach (var item in value.EnumerateArray())
            if (item.ValueKind == JsonValueKind.String && item.GetString() is { Length: > 0 } s && !list.Contains(s))
                list.Add(s);
        return [.. list];
    }
}
