using System.Runtime.CompilerServices;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// How to run this gateway's own program again (for `fastmcp stdio-exec`): the native binary itself; under the JIT
/// (tests, `dotnet fastmcp.dll`), the dotnet host with fastmcp.dll from the gateway's folder.
/// </summary>
internal static class GatewayExecutable
{
    public static (string File, string[] Prefix) Command()
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("the gateway cannot tell its own program's path");
        if (!RuntimeFeature.IsDynamicCodeSupported) return (process, []);
        string dll = Path.Combine(AppContext.BaseDirectory, "fastmcp.dll");
        if (Path.GetFileNameWithoutExtension(process) == "dotnet" && File.Exists(dll)) return (process, [dll]);
        return (process, []);
    }
}
