namespace FastMcp.Audit.Shipping;

/// <summary>
/// Builds the store named by shipping options or by a verifier location argument. Folders are
/// built in; S3-compatible stores live in FastMcp.Audit.S3 (the AWS SDK), which a host registers
/// through <see cref="S3Factory"/>, so the offline verifier carries no cloud SDK.
/// </summary>
public static class SegmentStores
{
    /// <summary>Said when an s3:// location or S3 shipping is asked of a host without the S3 store.</summary>
    public const string NoS3Message =
        "this executable has no object-store client (fastmcp-verify is the offline verifier and carries no cloud SDK). " +
        "Use `fastmcp verify` (the gateway binary) for s3:// locations and checkpoints, or download the objects first " +
        "(aws s3 sync s3://BUCKET/PREFIX DIR) and verify the folder";

    /// <summary>Creates an S3-compatible store; set by FastMcp.Audit.S3 (S3Stores.Register), null where it is not linked.</summary>
    public static Func<S3ShippingOptions, ISegmentStore>? S3Factory { get; set; }

    public static ISegmentStore Create(ShippingOptions options) => options.Target switch
    {
        ShippingTarget.S3 => CreateS3(options.S3!),
        _ => new DirectorySegmentStore(options.Directory!),
    };

    /// <summary>"s3://bucket/prefix" (endpoint and credentials from <paramref name="s3Template"/> or the environment) or a local folder.</summary>
    public static ISegmentStore FromLocation(string location, S3ShippingOptions? s3Template = null)
    {
        if (!IsS3(location)) return new DirectorySegmentStore(location);
        string rest = location["s3://".Length..];
        int slash = rest.IndexOf('/');
        var s3 = s3Template ?? new S3ShippingOptions();
        s3.Bucket = slash < 0 ? rest : rest[..slash];
        s3.Prefix = slash < 0 ? "" : rest[(slash + 1)..];
        return CreateS3(s3);
    }

    public static bool IsS3(string location) => location.StartsWith("s3://", StringComparison.Ordinal);

    private static ISegmentStore CreateS3(S3ShippingOptions options) =>
        (S3Factory ?? throw new NotSupportedException("s3:// is not available: " + NoS3Message)).Invoke(options);
}
