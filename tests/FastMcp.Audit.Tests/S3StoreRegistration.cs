using System.Runtime.CompilerServices;

namespace FastMcp.Audit.Tests;

/// <summary>The tests use S3 stores as the gateway does: FastMcp.Audit.S3 registered once at start.</summary>
internal static class S3StoreRegistration
{
    [ModuleInitializer]
    internal static void Register() => FastMcp.Audit.S3.S3Stores.Register();
}
