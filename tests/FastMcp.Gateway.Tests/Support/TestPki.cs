using System.Diagnostics;
using System.Globalization;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// Certificates made by the openssl command line in a temporary folder: CAs, and server or client certificates
/// they sign (EC P-256, valid two days). Real PEM files, read by the gateway as an operator's would be.
/// </summary>
internal sealed class TestPki : IDisposable
{
    private int _serial = Random.Shared.Next(1000, 1_000_000);

    public TestPki() => Directory = System.IO.Directory.CreateTempSubdirectory("fastmcp-pki-").FullName;

    public string Directory { get; }

    public string PathOf(string file) => Path.Combine(Directory, file);

    /// <summary>A self-signed CA: <c>{name}.pem</c> and <c>{name}.key</c>.</summary>
    public (string Certificate, string Key) Ca(string name)
    {
        string cert = PathOf(name + ".pem"), key = PathOf(name + ".key");
        Run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
            "-days", "2", "-subj", "/CN=FastMcp test " + name,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        return (cert, key);
    }

    /// <summary>A server certificate for localhost and 127.0.0.1 signed by CA <paramref name="ca"/>.</summary>
    public (string Certificate, string Key) Server(string ca, string name, string commonName = "localhost") =>
        Issue(ca, name, commonName, "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");

    /// <summary>A client certificate (extended key usage clientAuth) signed by CA <paramref name="ca"/>.</summary>
    public (string Certificate, string Key) Client(string ca, string name, string commonName) =>
        Issue(ca, name, commonName, "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");

    private (string Certificate, string Key) Issue(string ca, string name, string commonName, string extensions)
    {
        string cert = PathOf(name + ".pem"), key = PathOf(name + ".key"), csr = PathOf(name + ".csr"), ext = PathOf(name + ".ext");
        File.WriteAllText(ext, extensions);
        Run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + commonName);
        Run("x509", "-req", "-in", csr, "-CA", PathOf(ca + ".pem"), "-CAkey", PathOf(ca + ".key"),
            "-set_serial", Interlocked.Increment(ref _serial).ToString(CultureInfo.InvariantCulture), "-days", "2", "-out", cert, "-extfile", ext);
        return (cert, key);
    }

    /// <summary>Runs openssl with <paramref name="arguments"/>; throws with its output when it fails.</summary>
    public static string Run(params string[] arguments)
    {
        (int exit, string output) = Try(null, arguments);
        return exit == 0 ? output : throw new InvalidOperationException($"openssl {string.Join(' ', arguments)} failed: {output}");
    }

    /// <summary>Runs openssl, feeding <paramref name="input"/> on stdin (then closing it); returns the exit code and stdout+stderr.</summary>
    public static (int ExitCode, string Output) Try(string? input, params string[] arguments)
    {
        var start = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in arguments) start.ArgumentList.Add(a);
        using Process p = Process.Start(start)!;
        if (input is not null) p.StandardInput.Write(input);
        p.StandardInput.Close();
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(30_000))
        {
            p.Kill();
            throw new TimeoutException("openssl " + string.Join(' ', arguments) + " did not finish");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
