using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Crypto;

/// <summary>
/// Where the audit signing key may live. Anyone who can read the private key can re-sign a
/// rewritten log, so in production it must not sit in the audit folder (whoever can write the log
/// could then also forge its signatures) and must not be readable by other users. Development
/// identity modes may keep it in the audit folder (the embedded defaults do) with a warning.
/// </summary>
public static class SigningKeyCustody
{
    public const string DefaultPrivateKeyName = "audit-signing-key.pem";
    public const string DefaultPublicKeyName = "audit-signing-key.pub.pem";

    /// <summary>Where development modes generate the key when <c>audit.signingKeyPath</c> is unset.</summary>
    public static string DefaultPath(string auditDirectory) => Path.Combine(auditDirectory, DefaultPrivateKeyName);

    /// <summary>
    /// Checks an existing key file. Throws <see cref="SigningKeyCustodyException"/> when it must not
    /// be used; returns a warning to log when <paramref name="development"/> lets it pass anyway, else null.
    /// </summary>
    public static string? Check(string keyPath, string auditDirectory, bool development)
    {
        CheckPermissions(keyPath);
        if (!IsInside(keyPath, auditDirectory)) return null;
        string problem = $"the private key '{keyPath}' is inside the audit directory '{auditDirectory}': whoever can write the log could also re-sign it";
        if (!development)
            throw new SigningKeyCustodyException(problem + "; keep it elsewhere (e.g. a Kubernetes Secret file, `fastmcp keys generate`) and give auditors the public key out of band");
        return "DEVELOPMENT ONLY: " + problem + ". Allowed because identity mode is dev or anonymous; signatures from this key prove nothing to an auditor.";
    }

    /// <summary>True when <paramref name="keyPath"/> (or the file it links to) lies under <paramref name="directory"/>.</summary>
    public static bool IsInside(string keyPath, string directory)
    {
        var dirs = new List<string>(2) { Path.GetFullPath(directory) };
        if (Directory.Exists(directory) && new DirectoryInfo(directory).ResolveLinkTarget(returnFinalTarget: true) is { } dirTarget) dirs.Add(dirTarget.FullName);
        var keys = new List<string>(2) { Path.GetFullPath(keyPath) };
        if (File.Exists(keyPath) && new FileInfo(keyPath).ResolveLinkTarget(returnFinalTarget: true) is { } keyTarget) keys.Add(keyTarget.FullName);
        foreach (string dir in dirs)
        {
            string prefix = Path.TrimEndingDirectorySeparator(dir) + Path.DirectorySeparatorChar;
            foreach (string key in keys)
            {
                if (key.StartsWith(prefix, OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase)) return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Refuses a key other users can read or write, and one its group can write. Group read is
    /// accepted only when the group is the gateway's own effective group: that is how Kubernetes
    /// mounts a Secret in a pod with an fsGroup (mode 0440, group = fsGroup = runAsGroup).
    /// </summary>
    public static void CheckPermissions(string keyPath)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(keyPath)) return;
        UnixFileMode mode = File.GetUnixFileMode(keyPath);
        string octal = Convert.ToString((int)mode & 0x1FF, 8).PadLeft(4, '0');
        const UnixFileMode other = UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        if ((mode & other) != 0)
            throw new SigningKeyCustodyException($"the private key '{keyPath}' is accessible to other users (mode {octal}); make it owner-only (chmod 600)");
        if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.GroupExecute)) != 0)
            throw new SigningKeyCustodyException($"the private key '{keyPath}' is writable by its group (mode {octal}); make it owner-only (chmod 600)");
        if ((mode & UnixFileMode.GroupRead) != 0)
        {
            uint? group = UnixFileGroup.GroupOf(keyPath);
            uint? own = UnixFileGroup.EffectiveGroup();
            if (group is null || own is null || group != own)
                throw new SigningKeyCustodyException($"the private key '{keyPath}' is readable by group {group?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}, which is not the gateway's own group (mode {octal}); make it owner-only (chmod 600)");
        }
    }
}

/// <summary>A signing key whose location or permissions would let others read or forge with it.</summary>
public sealed class SigningKeyCustodyException(string message) : Exception(message);
