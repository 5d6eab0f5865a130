namespace FastMcp.Mcp;

/// <summary>Decides which entries of a list result the caller may see (e.g. tools the policy allows).</summary>
public interface IListEntryFilter
{
    /// <summary>
    /// True to keep the entry. <paramref name="nameUtf8"/> is unescaped: the tool or prompt <c>name</c>, the
    /// resource <c>uri</c>, or the template <c>uriTemplate</c>. It may point into a stack buffer, hence
    /// <c>scoped</c>: a ref struct filter must not keep it.
    /// </summary>
    bool Keep(McpMethod listMethod, scoped ReadOnlySpan<byte> nameUtf8);
}
