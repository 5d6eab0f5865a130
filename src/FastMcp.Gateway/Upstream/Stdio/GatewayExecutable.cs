namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// How to run this gateway's own program again (for `fastmcp stdio-exec`): the program this process runs (the native
/// binary, or the JIT build's apphost); when that is the dotnet host (`dotnet fastmcp.dll`, the test host), the host
/// with fastmcp.dll from the gateway's folder. Told by the host's name: a JIT build made with PublishAot reports
/// RuntimeFeature.IsDynamicCodeSupported false like the native binary does.
/// </summary>
internal static class GatewayExecutable
{
    public static (string File, string[] Prefix) Command()
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("the gateway cannot tell its own program's path");
        string dll = Path.Combine(AppContext.BaseDirectory, "fastmcp.dll");
        if (Path.GetFileName(process) == "dotnet" && File.Exists(dll)) return (process, [dll]);
        return (process, []);
    }
}
