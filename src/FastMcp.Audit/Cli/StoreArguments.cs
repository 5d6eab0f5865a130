using FastMcp.Audit.Shipping;
using FastMcp.Http;

namespace FastMcp.Audit.Cli;

/// <summary>The options that say how to reach a location: a folder, or s3://bucket/prefix with endpoint settings (and --ca-file for a store behind a private CA).</summary>
internal static class StoreArguments
{
    public static readonly string[] Valued = ["endpoint", "region", "profile", "ca-file"];
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
            CaFile = args.Get("ca-file"),
        };
        if (s3.CaFile is not null)
        {
            // Checked here to name the option, not the configuration field the store's own check would name.
            if (s3.Endpoint is null || !s3.Endpoint.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
                throw new UsageException("--ca-file needs an https:// --endpoint (or AWS_ENDPOINT_URL_S3): the CAs are those of an S3-compatible store behind a private CA");
            if (PrivateCaTrust.TryLoadPolicy(s3.CaFile, out string problem) is null) throw new IOException("--ca-file: " + problem);
        }
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
