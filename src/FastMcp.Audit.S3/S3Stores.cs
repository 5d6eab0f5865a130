using FastMcp.Audit.Shipping;

namespace FastMcp.Audit.S3;

/// <summary>Plugs S3-compatible stores into <see cref="SegmentStores"/>; a host that ships to S3 or reads s3:// calls <see cref="Register"/> once at start.</summary>
public static class S3Stores
{
    public static void Register() => SegmentStores.S3Factory = options => new S3SegmentStore(options);
}
