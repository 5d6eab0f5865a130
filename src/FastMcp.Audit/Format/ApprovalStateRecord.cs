using System.Buffers.Text;
using System.Text.Json;

namespace FastMcp.Audit.Format;

/// <summary>
/// Reads an ApprovalState record (type 15, docs/audit-format.md §5): whether it binds a generation of approvals.stateFile
/// (<c>success</c> true, <c>detail</c> starting <c>approvals.stateFile generation N:</c>) or records a file refused at start
/// (<c>success</c> false). Shared by the gateway's start and the verifier, so both read the same rule.
/// </summary>
public static class ApprovalStateRecord
{
    /// <summary>How every generation record's detail starts; N and a colon follow.</summary>
    public const string GenerationPrefix = "approvals.stateFile generation ";

    /// <summary>What one record says: a generation (Generation &gt; 0), a refusal at start, or neither (another detail).</summary>
    public readonly record struct Reading(long Generation, bool Refusal);

    /// <summary>
    /// Reads the record's JSON (<see cref="RecordLayout.ReadJson"/>); false when it is not JSON with a boolean
    /// <c>success</c> and a string <c>detail</c> at its top level.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> json, out Reading reading)
    {
        reading = default;
        bool? success = null;
        long generation = 0;
        bool detailSeen = false;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isSuccess = reader.ValueTextEquals("success"u8), isDetail = !isSuccess && reader.ValueTextEquals("detail"u8);
                if (!reader.Read()) return false;
                if (isSuccess && reader.TokenType is JsonTokenType.True or JsonTokenType.False) success = reader.GetBoolean();
                else if (isDetail && reader.TokenType == JsonTokenType.String)
                {
                    detailSeen = true;
                    generation = GenerationOf(reader.GetString()!);
                }
                else reader.Skip();
            }
        }
        catch (JsonException)
        {
            return false;
        }
        if (success is not { } ok || !detailSeen) return false;
        reading = new Reading(ok ? generation : 0, !ok);
        return true;
    }

    /// <summary>N of a detail starting <c>approvals.stateFile generation N:</c> (N positive, no leading zero), else 0.</summary>
    public static long GenerationOf(string detail)
    {
        if (!detail.StartsWith(GenerationPrefix, StringComparison.Ordinal)) return 0;
        ReadOnlySpan<char> digits = detail.AsSpan(GenerationPrefix.Length);
        int colon = digits.IndexOf(':');
        if (colon <= 0 || colon > 19 || digits[0] == '0') return 0;
        Span<byte> ascii = stackalloc byte[19];
        for (int i = 0; i < colon; i++)
        {
            if (digits[i] is < '0' or > '9') return 0;
            ascii[i] = (byte)digits[i];
        }
        return Utf8Parser.TryParse(ascii[..colon], out long n, out int used) && used == colon && n > 0 ? n : 0;
    }
}
