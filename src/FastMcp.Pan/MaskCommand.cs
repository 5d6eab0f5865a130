using System.Buffers;
using System.Globalization;

namespace FastMcp.Pan;

/// <summary>
/// <c>fastmcp mask</c>: a stdin-to-stdout filter that masks card numbers in files and logs of any size in bounded
/// memory. Usage: <c>fastmcp mask [--keep-first 0|6|8] [--report] [--key-file PATH] [--no-fingerprint]</c>.
/// The fingerprint key comes from <c>--key-file</c> or the <c>FASTMCP_PAN_KEY</c> environment variable (hex or
/// base64); without one the command refuses to run unless <c>--no-fingerprint</c> is given.
/// <c>--report</c> writes one line per find to stderr: brand, byte offset, byte length, fingerprint (hex).
/// Track data after a card number is masked with it; a line that is a JSON text has the values of its security code and
/// PIN members (<see cref="SensitiveMemberNames.Default"/>) masked whole (<see cref="SensitiveMemberLines"/>).
/// A line it cannot fully mask is not written: a marker line naming its number stands in its place, and stderr names it
/// and counts such lines (<see cref="SensitiveMemberLines"/>).
/// Exit codes: 0 done, 1 I/O failure, 2 usage or key error, 3 done with lines withheld.
/// </summary>
public static class MaskCommand
{
    public const string KeyEnvironmentVariable = "FASTMCP_PAN_KEY";

    /// <summary>Read size; the buffer is this plus the most the masker can hold back.</summary>
    private const int ReadSize = 256 * 1024;

    public static int Run(string[] args, Stream stdin, Stream stdout, TextWriter stderr) =>
        Run(args, stdin, stdout, stderr, Environment.GetEnvironmentVariable);

    /// <summary>As <see cref="Run(string[], Stream, Stream, TextWriter)"/> with the environment supplied (tests).</summary>
    public static int Run(string[] args, Stream stdin, Stream stdout, TextWriter stderr, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdin);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(environment);

        int keepFirst = 6;
        bool report = false, noFingerprint = false;
        string? keyFile = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--keep-first" when i + 1 < args.Length && args[i + 1] is "0" or "6" or "8":
                    keepFirst = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--report":
                    report = true;
                    break;
                case "--no-fingerprint":
                    noFingerprint = true;
                    break;
                case "--key-file" when i + 1 < args.Length:
                    keyFile = args[++i];
                    break;
                case "-h" or "--help":
                    stderr.WriteLine(Usage);
                    return 0;
                default:
                    stderr.WriteLine(FastMcp.Text.PrintableText.Escape($"fastmcp mask: unexpected argument '{args[i]}'."));
                    stderr.WriteLine(Usage);
                    return 2;
            }
        }

        byte[] key = [];
        if (!noFingerprint)
        {
            string? keyError = LoadKey(keyFile, environment, out key);
            if (keyError is not null)
            {
                stderr.WriteLine(FastMcp.Text.PrintableText.Escape($"fastmcp mask: {keyError}"));
                return 2;
            }
        }

        PanMasker masker;
        try
        {
            masker = new PanMasker(new PanMaskingOptions { KeepFirst = keepFirst, FingerprintKey = key, ComputeFingerprints = !noFingerprint });
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"fastmcp mask: {FastMcp.Http.PlainError.Describe(e)}");
            return 2;
        }

        try
        {
            ReportSink sink = new(report ? stderr : null);
            long found = Filter(masker, stdin, stdout, ref sink, stderr, out long withheld);
            stdout.Flush();
            if (report) stderr.WriteLine($"{found} card number(s) masked");
            if (withheld == 0) return 0;
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fastmcp mask: {withheld} line(s) withheld: they could not be fully masked (a marker line stands in each one's place)"));
            return WithheldExitCode;
        }
        catch (IOException e)
        {
            stderr.WriteLine($"fastmcp mask: {FastMcp.Http.PlainError.Describe(e)}");
            return 1;
        }
    }

    /// <summary>The exit code when the output is complete but for lines withheld as unmaskable.</summary>
    public const int WithheldExitCode = 3;

    /// <summary>Copies <paramref name="input"/> to <paramref name="output"/> masking card numbers; returns how many.</summary>
    public static long Filter<TSink>(PanMasker masker, Stream input, Stream output, ref TSink sink) where TSink : IPanFindingSink =>
        Filter(masker, input, output, ref sink, null, out _);

    /// <summary>
    /// The same; a line that cannot be fully masked is replaced by a marker line, named on <paramref name="notices"/>
    /// and counted in <paramref name="withheldLines"/>.
    /// </summary>
    public static long Filter<TSink>(PanMasker masker, Stream input, Stream output, ref TSink sink, TextWriter? notices, out long withheldLines)
        where TSink : IPanFindingSink
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReadSize + PanStreamMasker.MaxHoldBack);
        try
        {
            PanStreamMasker stream = new(masker);
            using SensitiveMemberLines lines = new(masker, output, notices);
            int held = 0;
            while (true)
            {
                int read = input.Read(buffer, held, buffer.Length - held);
                bool final = read == 0;
                int filled = held + read;
                int release = stream.Process(buffer.AsSpan(0, filled), final, ref sink);
                lines.Write(buffer.AsSpan(0, release), ref sink);
                held = filled - release;
                if (final)
                {
                    lines.Flush(ref sink);
                    withheldLines = lines.WithheldLines;
                    return stream.CardsMasked;
                }
                buffer.AsSpan(release, held).CopyTo(buffer);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private const string Usage = "usage: fastmcp mask [--keep-first 0|6|8] [--report] [--key-file PATH | --no-fingerprint] < in > out\n"
        + "  key: --key-file (hex, base64 or raw bytes) or FASTMCP_PAN_KEY (hex or base64), at least 16 bytes\n"
        + "  a line it cannot fully mask (over 4 MiB, or JSON nested past 1,024 levels) is replaced by a marker line naming it; exit code 3";

    private static string? LoadKey(string? keyFile, Func<string, string?> environment, out byte[] key)
    {
        key = [];
        if (keyFile is not null)
        {
            byte[] raw;
            try
            {
                raw = File.ReadAllBytes(keyFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return $"cannot read key file '{keyFile}': {FastMcp.Http.PlainError.Describe(e, keyFile)}";
            }
            string text = System.Text.Encoding.ASCII.GetString(raw).Trim();
            key = TryDecodeText(text) ?? raw;
        }
        else
        {
            string? value = environment(KeyEnvironmentVariable);
            if (string.IsNullOrWhiteSpace(value))
                return $"no fingerprint key: set {KeyEnvironmentVariable} (hex or base64) or pass --key-file PATH, or pass --no-fingerprint to mask without fingerprints.";
            key = TryDecodeText(value.Trim()) ?? [];
            if (key.Length == 0) return $"{KeyEnvironmentVariable} is neither hex nor base64.";
        }
        if (key.Length < PanMasker.MinKeyLength)
            return $"the fingerprint key has {key.Length} bytes; at least {PanMasker.MinKeyLength} are required.";
        return null;
    }

    private static byte[]? TryDecodeText(string text)
    {
        if (text.Length > 0 && text.Length % 2 == 0)
        {
            try
            {
                return Convert.FromHexString(text);
            }
            catch (FormatException)
            {
            }
        }
        byte[] decoded = new byte[text.Length];
        return Convert.TryFromBase64String(text, decoded, out int written) && written > 0 ? decoded[..written] : null;
    }

    /// <summary>Writes --report lines; a class-free struct so the filter's generic path stays allocation-light.</summary>
    private readonly struct ReportSink(TextWriter? report) : IPanFindingSink
    {
        public void OnSensitiveData(SensitiveDataKind kind) { }

        public void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32)
        {
            if (report is null) return;
            string fingerprint = fingerprint32.IsEmpty ? "-" : Convert.ToHexStringLower(fingerprint32);
            report.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{brand}\t{offset}\t{length}\t{fingerprint}"));
        }
    }
}
