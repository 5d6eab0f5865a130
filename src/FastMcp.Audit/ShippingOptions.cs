using System.Security.Cryptography.X509Certificates;
using FastMcp.Http;

namespace FastMcp.Audit;

/// <summary>Where sealed segments and checkpoints are copied.</summary>
public enum ShippingTarget
{
    /// <summary>A local (or mounted) folder.</summary>
    Directory,
    /// <summary>Any S3-compatible object store.</summary>
    S3,
}

/// <summary>Shipping settings; plain settable class for source-generated JSON binding.</summary>
public sealed class ShippingOptions
{
    public ShippingTarget Target { get; set; } = ShippingTarget.Directory;
    /// <summary>Destination folder when <see cref="Target"/> is Directory.</summary>
    public string? Directory { get; set; }
    /// <summary>S3 settings when <see cref="Target"/> is S3.</summary>
    public S3ShippingOptions? S3 { get; set; }
    /// <summary>How long a verified-uploaded segment stays in the local folder; zero deletes it right after upload.</summary>
    public TimeSpan LocalRetention { get; set; } = TimeSpan.Zero;
    /// <summary>Upload attempts per pass before the shipper waits for the next pass.</summary>
    public int MaxAttempts { get; set; } = 5;
    /// <summary>First retry delay; doubles per attempt.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(200);
    /// <summary>How often the shipper looks for sealed segments it has not shipped yet.</summary>
    public TimeSpan ScanInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Sealed segments waiting to ship beyond which the gateway reports itself not ready (/readyz 503): a store
    /// that stays down must not let unshipped evidence pile up unnoticed. 0 turns the check off.
    /// </summary>
    public int MaxBacklogSegments { get; set; } = 64;

    /// <summary>Told when shipping starts failing (once) and when it works again (the gateway logs both).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Action<string>? OnProblem { get; set; }

    public void Validate()
    {
        if (Target == ShippingTarget.Directory && string.IsNullOrWhiteSpace(Directory))
            throw new ArgumentException("Audit.Shipping.Directory must be set when Target is Directory.", "shipping.directory");
        if (Target == ShippingTarget.S3)
        {
            if (S3 is null) throw new ArgumentException("Audit.Shipping.S3 must be set when Target is S3.", "shipping.s3");
            S3.Validate();
        }
        if (LocalRetention < TimeSpan.Zero) throw new ArgumentException("Audit.Shipping.LocalRetention must not be negative.", "shipping.localRetention");
        if (MaxAttempts < 1) throw new ArgumentException("Audit.Shipping.MaxAttempts must be at least 1.", "shipping.maxAttempts");
        if (InitialBackoff < TimeSpan.Zero) throw new ArgumentException("Audit.Shipping.InitialBackoff must not be negative.", "shipping.initialBackoff");
        if (MaxBacklogSegments < 0) throw new ArgumentException("Audit.Shipping.MaxBacklogSegments must not be negative.", "shipping.maxBacklogSegments");
        if (ScanInterval <= TimeSpan.Zero) throw new ArgumentException("Audit.Shipping.ScanInterval must be positive.", "shipping.scanInterval");
    }
}

/// <summary>S3-compatible store settings.</summary>
public sealed class S3ShippingOptions
{
    /// <summary>Service URL for non-AWS stores (MinIO, Ceph, R2, s3rver); null uses AWS for <see cref="Region"/>.</summary>
    public string? Endpoint { get; set; }
    public string Region { get; set; } = "us-east-1";
    public string Bucket { get; set; } = "";
    /// <summary>Key prefix; segments land at {Prefix}{ChainId}/{index}.seg.</summary>
    public string Prefix { get; set; } = "";
    /// <summary>Path-style addressing (bucket in the path), which most S3-compatible stores need.</summary>
    public bool ForcePathStyle { get; set; } = true;
    /// <summary>Static credentials; when null the SDK's chain is used (environment, shared files, instance role).</summary>
    public string? AccessKeyId { get; set; }
    public string? SecretAccessKey { get; set; }
    /// <summary>A named profile from the shared credentials file.</summary>
    public string? Profile { get; set; }
    /// <summary>When false, the SDK's default CRC request checksums and aws-chunked uploads are turned off (many S3-compatible stores reject them); the SHA-256 checksum is still sent.</summary>
    public bool SdkDefaultChecksums { get; set; }
    /// <summary>Object Lock retention applied to each segment (needs a versioned, lock-enabled bucket); zero for none.</summary>
    public TimeSpan ObjectLockRetention { get; set; } = TimeSpan.Zero;
    /// <summary>"COMPLIANCE" or "GOVERNANCE".</summary>
    public string ObjectLockMode { get; set; } = "COMPLIANCE";
    /// <summary>PEM CAs the endpoint's certificate must chain to (only these; an on-premises store behind a private CA); unset: the system store.</summary>
    public string? CaFile { get; set; }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Bucket)) throw new ArgumentException("Audit.Shipping.S3.Bucket must be set.", "shipping.s3.bucket");
        if (string.IsNullOrWhiteSpace(Region)) throw new ArgumentException("Audit.Shipping.S3.Region must be set.", "shipping.s3.region");
        if (Endpoint is not null && !Uri.TryCreate(Endpoint, UriKind.Absolute, out _))
            throw new ArgumentException("Audit.Shipping.S3.Endpoint must be an absolute URL.", "shipping.s3.endpoint");
        if ((AccessKeyId is null) != (SecretAccessKey is null))
            throw new ArgumentException("Audit.Shipping.S3.AccessKeyId and SecretAccessKey must be set together.", "shipping.s3.accessKeyId");
        if (ObjectLockRetention < TimeSpan.Zero) throw new ArgumentException("Audit.Shipping.S3.ObjectLockRetention must not be negative.", "shipping.s3.objectLockRetention");
        if (ObjectLockMode is not ("COMPLIANCE" or "GOVERNANCE"))
            throw new ArgumentException("Audit.Shipping.S3.ObjectLockMode must be COMPLIANCE or GOVERNANCE.", "shipping.s3.objectLockMode");
        if (CaFile is not null) LoadCaPolicy();
    }

    /// <summary>
    /// caFile's chain policy, or null without one. Refused unless the endpoint is an https:// URL: over http:// no
    /// certificate is checked, and without an endpoint the SDK talks to AWS, whose certificates chain to public CAs.
    /// </summary>
    public X509ChainPolicy? LoadCaPolicy()
    {
        if (CaFile is null) return null;
        if (Endpoint is null || !Endpoint.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException("set, but shipping.s3.endpoint is not an https:// URL: the CAs would not be used", CaFileField);
        return PrivateCaTrust.TryLoadPolicy(CaFile, out string problem) ?? throw new ArgumentException(problem, CaFileField);
    }

    /// <summary>The field a caFile problem names (audit.shipping.s3.caFile in the gateway's configuration).</summary>
    public const string CaFileField = "shipping.s3.caFile";
}
