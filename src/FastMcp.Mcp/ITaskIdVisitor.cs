namespace FastMcp.Mcp;

/// <summary>Receives the raw string tokens (quotes and escapes included) of the task ids a message names, in document order.</summary>
public interface ITaskIdVisitor
{
    /// <summary>False stops the walk: the message is then not read further, and <see cref="TaskIdMembers.TryVisit"/> is false.</summary>
    bool Visit(Range taskIdToken);
}
