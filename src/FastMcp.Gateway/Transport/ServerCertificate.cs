using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// The listener's certificate and key, taken again from their files when either file changes. New connections
/// ask for <see cref="Current"/>; at most once per <see cref="CheckInterval"/> that looks at the two files'
/// modification times (two stat calls), and only a change reads and parses them. A pair that does not load (half
/// written, a key for another certificate) keeps the previous certificate in service and is logged once per
/// change of the files, never per connection.
/// </summary>
internal sealed class ServerCertificate
{
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    private readonly string _certificateFile;
    private readonly string _keyFile;
    private readonly Admin.GatewayCounters _counters;
    private SslStreamCertificateContext _current;
    private (DateTime Certificate, DateTime Key) _seen;
    private long _nextCheck;
    private int _checking;

    public ServerCertificate(string certificateFile, string keyFile, Admin.GatewayCounters counters)
    {
        _certificateFile = certificateFile;
        _keyFile = keyFile;
        _counters = counters;
        _seen = ModificationTimes();
        _current = Load();
        _nextCheck = Environment.TickCount64 + (long)CheckInterval.TotalMilliseconds;
    }

    /// <summary>The certificate to present now (reloaded first when the files changed since the last check).</summary>
    public SslStreamCertificateContext Current()
    {
        if (Environment.TickCount64 >= Volatile.Read(ref _nextCheck)) CheckFiles();
        return Volatile.Read(ref _current);
    }

    private void CheckFiles()
    {
        // One connection checks; the others meanwhile use the certificate in service.
        if (Interlocked.Exchange(ref _checking, 1) != 0) return;
        try
        {
            Volatile.Write(ref _nextCheck, Environment.TickCount64 + (long)CheckInterval.TotalMilliseconds);
            (DateTime, DateTime) now = ModificationTimes();
            if (now == _seen) return;
            _seen = now;
            try
            {
                SslStreamCertificateContext loaded = Load();
                Volatile.Write(ref _current, loaded);
                Admin.GatewayCounters.Add(ref _counters.TlsCertificateReloads);
                Log.Info($"tls: certificate reloaded from {_certificateFile}: subject \"{loaded.TargetCertificate.Subject}\", valid until {loaded.TargetCertificate.NotAfter.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}");
            }
            catch (ConfigurationException e)
            {
                // Possibly a rotation half done (the certificate written, the key not yet): the next change retries.
                Admin.GatewayCounters.Add(ref _counters.TlsCertificateReloadFailures);
                Log.Warn($"tls: the changed certificate files do not load ({e.Field}: {e.Problem}); new connections keep the previous certificate");
            }
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }

    private SslStreamCertificateContext Load()
    {
        (X509Certificate2 leaf, X509Certificate2Collection chain) = PemFiles.LoadCertificateWithKey(_certificateFile, _keyFile, "tls.certificateFile", "tls.keyFile");
        // offline: the chain is what the file holds; nothing is fetched from the network at accept time.
        SslStreamCertificateContext context = SslStreamCertificateContext.Create(leaf, chain, offline: true);
        Volatile.Write(ref _counters.TlsCertificateNotAfter, new DateTimeOffset(leaf.NotAfter.ToUniversalTime()).ToUnixTimeSeconds());
        return context;
    }

    private (DateTime, DateTime) ModificationTimes() => (File.GetLastWriteTimeUtc(_certificateFile), File.GetLastWriteTimeUtc(_keyFile));
}
