using System.Security.Cryptography;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Hosting;

/// <summary>
/// The HMAC key behind card fingerprints (PCI DSS 3.5.1.1): from a file or an environment
/// variable, never from the configuration file itself and never logged.
/// </summary>
internal static class PanKeyLoader
{
    public static byte[] Load(MaskingOptions options, out bool ephemeral)
    {
        ephemeral = false;
        string? text = null;
        string field = "masking.fingerprintKeyFile";
        if (!string.IsNullOrEmpty(options.FingerprintKeyFile))
        {
            try
            {
                text = File.ReadAllText(options.FingerprintKeyFile).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigurationException(field, $"cannot read the key file '{options.FingerprintKeyFile}': {FastMcp.Http.PlainError.Describe(e, options.FingerprintKeyFile)}");
            }
        }
        else if (!string.IsNullOrEmpty(options.FingerprintKeyEnv))
        {
            field = "masking.fingerprintKeyEnv";
            text = Environment.GetEnvironmentVariable(options.FingerprintKeyEnv)?.Trim();
        }
        if (string.IsNullOrEmpty(text))
        {
            // Fingerprints still correlate within this process; across restarts only with a configured key.
            ephemeral = true;
            return RandomNumberGenerator.GetBytes(32);
        }
        byte[] key = Decode(text) ?? throw new ConfigurationException(field, "the key must be hex or base64");
        if (key.Length < 16) throw new ConfigurationException(field, "the key must be at least 16 bytes (128 bits)");
        return key;
    }

    private static byte[]? Decode(string text)
    {
        try
        {
            if (text.Length % 2 == 0 && text.AsSpan().IndexOfAnyExcept("0123456789abcdefABCDEF") < 0) return Convert.FromHexString(text);
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
