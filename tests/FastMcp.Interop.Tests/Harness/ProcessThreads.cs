using System.Globalization;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>The threads of a process as Linux reports them in /proc (empty elsewhere).</summary>
internal static class ProcessThreads
{
    /// <summary>One thread: its name (comm, at most 15 characters), id and scheduling policy (0 SCHED_OTHER, 3 SCHED_BATCH).</summary>
    public readonly record struct Thread(string Name, int Id, int Policy);

    public static List<Thread> Of(int pid)
    {
        var threads = new List<Thread>();
        string tasks = $"/proc/{pid}/task";
        if (!Directory.Exists(tasks)) return threads;
        foreach (string task in Directory.GetDirectories(tasks))
        {
            try
            {
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                // The name (field 2) is in parentheses and may hold spaces: fields are counted after the last ')'.
                string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                int policy = int.Parse(rest[41 - 3], CultureInfo.InvariantCulture);
                string name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                threads.Add(new Thread(name, int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture), policy));
            }
            catch (IOException)
            {
                // The thread ended while the list was read.
            }
        }
        return threads;
    }
}
