namespace FastMcp.Gateway.Transport;

/// <summary>
/// Process-wide settings of .NET's socket engine, applied by <c>serve</c> before the first socket
/// exists (the runtime reads them once, when its engine starts).
/// </summary>
internal static class SocketEngineSettings
{
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Socket completions run on the engine's event threads (one per core) instead of being posted
    /// to the thread pool. With the inline pipe readers of <see cref="PipeSettings"/> a request is
    /// then handled from receive to send on the thread that saw it arrive, without a context switch.
    /// The data path never blocks (audit fsyncs run on the audit writer's own thread), which is what
    /// this needs. An operator's own setting of the variable (for example "0") is left as it is.
    /// </summary>
    public static void PreferInlineCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
    }
}
