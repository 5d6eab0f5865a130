using System.Text.Json.Serialization;

namespace FastMcp.Gateway.Configuration;

/// <summary>Source-generated serializer for the configuration file (Native AOT has no reflection).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(GatewayOptions))]
internal sealed partial class GatewayJsonContext : JsonSerializerContext;
