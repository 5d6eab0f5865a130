namespace FastMcp.Audit.Cli;

/// <summary>
/// Reads the checkpoint given to --since-checkpoint: a file, an http(s) URL (a witness or a
/// published object behind a web server), or s3://bucket/key (a published checkpoint in the store).
/// </summary>
internal static class CheckpointSource
{
    public static async Task<byte[]> ReadAsync(string source, CliArguments args, CancellationToken ct)
    {
        if (source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            // The checkpoint is read from the URL given, not from wherever a redirect points.
            using var http = new HttpClient(FastMcp.Http.RedirectRefusal.Handler()) { Timeout = TimeSpan.FromSeconds(30) };
            using var response = await http.GetAsync(source, ct).ConfigureAwait(false);
            if (FastMcp.Http.RedirectRefusal.IsRedirect(response.StatusCode)) throw new IOException(FastMcp.Http.RedirectRefusal.Describe(source, response.StatusCode));
            if (!response.IsSuccessStatusCode) throw new IOException($"{source}: HTTP {(int)response.StatusCode}");
            return await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        }
        if (source.StartsWith("s3://", StringComparison.Ordinal))
        {
            string rest = source["s3://".Length..];
            int slash = rest.IndexOf('/');
            if (slash <= 0 || slash == rest.Length - 1) throw new UsageException("--since-checkpoint s3://BUCKET/KEY needs a bucket and an object key");
            using var store = StoreArguments.Open("s3://" + rest[..slash], args);
            return await store.GetAsync(rest[(slash + 1)..], ct).ConfigureAwait(false) ?? throw new IOException($"{source}: no such object");
        }
        return await File.ReadAllBytesAsync(source, ct).ConfigureAwait(false);
    }
}
