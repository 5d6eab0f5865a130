namespace FastMcp.Audit.Shipping;

/// <summary>Builds the store named by shipping options or by a verifier location argument.</summary>
public static class SegmentStores
{
    public static ISegmentStore Create(ShippingOptions options) => options.Target switch
    {
        ShippingTarget.S3 => new S3SegmentStore(options.S3!),
        _ => new DirectorySegmentStore(options.Directory!),
    };

    /// <summary>"s3://bucket/prefix" (endpoint and credentials from <paramref name="s3Template"/> or the environment) or a local folder.</summary>
    public static ISegmentStore FromLocation(string location, S3ShippingOptions? s3Template = null)
    {
        if (!location.StartsWith("s3://", StringComparison.Ordinal)) return new DirectorySegmentStore(location);
        string rest = location["s3://".Length..];
        int slash = rest.IndexOf('/');
        var s3 = s3Template ?? new S3ShippingOptions();
        s3.Bucket = slash < 0 ? rest : rest[..slash];
        s3.Prefix = slash < 0 ? "" : rest[(slash + 1)..];
        return new S3SegmentStore(s3);
    }
}
