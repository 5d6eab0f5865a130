using System.Net;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.S3;
using Amazon.S3.Model;
using FastMcp.Audit.Shipping;

namespace FastMcp.Audit.S3;

/// <summary>
/// An S3-compatible bucket as object store. Create-only uploads send x-amz-checksum-sha256 and
/// If-None-Match: *, after a HEAD (some S3-compatible stores ignore the condition), so a retry never
/// overwrites; an existing object is compared by SHA-256.
/// </summary>
public sealed class S3SegmentStore : ISegmentStore
{
    private readonly IAmazonS3 _client;
    private readonly S3ShippingOptions _options;
    private readonly string _prefix;

    public S3SegmentStore(S3ShippingOptions options)
    {
        options.Validate();
        _options = options;
        _prefix = options.Prefix.Length == 0 || options.Prefix.EndsWith('/') ? options.Prefix : options.Prefix + "/";
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            AuthenticationRegion = options.Region,
            // A redirect is an error, not a new destination: a 307 would resend a signed upload (an audit segment) to wherever it points.
            AllowAutoRedirect = false,
        };
        if (options.Endpoint is not null) config.ServiceURL = options.Endpoint;
        else config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        if (!options.SdkDefaultChecksums)
        {
            config.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED;
            config.ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED;
        }
        // Every request (uploads, Object Lock, checkpoints, listing, reads) refuses redirects, and trusts only caFile's CAs when it is set.
        config.HttpClientFactory = new S3HttpClientFactory(options.LoadCaPolicy());
        _client = CreateClient(options, config);
    }

    private static AmazonS3Client CreateClient(S3ShippingOptions options, AmazonS3Config config)
    {
        if (options.AccessKeyId is not null) return new AmazonS3Client(new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey), config);
        if (options.Profile is not null)
        {
            if (!new CredentialProfileStoreChain().TryGetAWSCredentials(options.Profile, out var credentials))
                throw new InvalidOperationException($"AWS profile '{options.Profile}' not found in the shared credentials files.");
            return new AmazonS3Client(credentials, config);
        }
        return new AmazonS3Client(config);
    }

    public string Describe(string key) => $"s3://{_options.Bucket}/{_prefix}{key}";

    public async Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, byte[] sha256, CancellationToken ct)
    {
        var existing = await GetSha256Async(key, ct).ConfigureAwait(false);
        if (existing is not null) return existing.AsSpan().SequenceEqual(sha256) ? PutResult.AlreadyIdentical : PutResult.Conflict;
        var request = NewPut(key, data);
        request.ChecksumSHA256 = Convert.ToBase64String(sha256);
        request.IfNoneMatch = "*";
        if (_options.ObjectLockRetention > TimeSpan.Zero)
        {
            request.ObjectLockMode = new ObjectLockMode(_options.ObjectLockMode);
            request.ObjectLockRetainUntilDate = DateTime.UtcNow + _options.ObjectLockRetention;
        }
        try
        {
            await _client.PutObjectAsync(request, ct).ConfigureAwait(false);
            return PutResult.Created;
        }
        catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
        {
            existing = await GetSha256Async(key, ct).ConfigureAwait(false);
            return existing is not null && existing.AsSpan().SequenceEqual(sha256) ? PutResult.AlreadyIdentical : PutResult.Conflict;
        }
    }

    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var request = NewPut(key, data);
        request.ChecksumSHA256 = Convert.ToBase64String(SHA256.HashData(data.Span));
        await _client.PutObjectAsync(request, ct).ConfigureAwait(false);
    }

    private PutObjectRequest NewPut(string key, ReadOnlyMemory<byte> data) => new()
    {
        BucketName = _options.Bucket,
        Key = _prefix + key,
        InputStream = new MemoryStream(data.ToArray(), writable: false),
        AutoCloseStream = true,
        ContentType = "application/octet-stream",
        UseChunkEncoding = _options.SdkDefaultChecksums,
    };

    /// <summary>Uses the store's stored SHA-256 checksum when it reports one, else downloads and hashes.</summary>
    public async Task<byte[]?> GetSha256Async(string key, CancellationToken ct)
    {
        try
        {
            var head = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest
            {
                BucketName = _options.Bucket,
                Key = _prefix + key,
                ChecksumMode = ChecksumMode.ENABLED,
            }, ct).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(head.ChecksumSHA256) && head.ChecksumType != ChecksumType.COMPOSITE)
                return Convert.FromBase64String(head.ChecksumSHA256);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        var bytes = await GetAsync(key, ct).ConfigureAwait(false);
        return bytes is null ? null : SHA256.HashData(bytes);
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken ct)
    {
        try
        {
            using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _options.Bucket, Key = _prefix + key }, ct).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer, ct).ConfigureAwait(false);
            return buffer.ToArray();
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken ct)
    {
        var keys = new List<string>();
        var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = _prefix + prefix };
        while (true)
        {
            var response = await _client.ListObjectsV2Async(request, ct).ConfigureAwait(false);
            if (response.S3Objects is { } objects)
            {
                foreach (var o in objects) keys.Add(o.Key[_prefix.Length..]);
            }
            if (response.IsTruncated != true || string.IsNullOrEmpty(response.NextContinuationToken)) break;
            request.ContinuationToken = response.NextContinuationToken;
        }
        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    public void Dispose() => _client.Dispose();
}
