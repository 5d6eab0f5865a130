using FastMcp.Audit.Shipping;

namespace FastMcp.Audit.Cli;

/// <summary>The options that say how to reach a location: a folder, or s3://bucket/prefix with endpoint settings.</summary>
internal static class StoreArguments
{
    public static readonly string[] Valued = ["endpoint", "region", "profile"];
    public static readonly string[] Flags = ["virtual-hosted", "sdk-checksums"];

    public static ISegmentStore Open(string location, CliArguments args)
    {
        if (!location.StartsWith("s3://", StringComparison.Ordinal))
        {
            if (!Directory.Exists(location)) throw new DirectoryNotFoundException($"{location}: no such folder");
            return new DirectorySegmentStore(location);
        }
        var s3 = new S3ShippingOptions
        {
            Endpoint = args.Get("endpoint") ?? Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL_S3") ?? Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL"),
            Region = args.Get("region") ?? Environment.GetEnvironmentVariable("AWS_REGION") ?? "us-east-1",
            Profile = args.Get("profile"),
            ForcePathStyle = !args.Has("virtual-hosted"),
            SdkDefaultChecksums = args.Has("sdk-checksums"),
        };
        return SegmentStores.FromLocation(location, s3);
    }

    public static string[] Concat(string[] a, string[] b)
    {
        var r = new string[a.Length + b.Length];
        a.CopyTo(r, 0);
        b.CopyTo(r, a.Length);
        return r;
    }
}
