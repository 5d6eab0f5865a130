using System.Buffers;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Hosting;

/// <summary>
/// Operational log lines on stderr (stdout is kept for what a user pastes: the URL and first call).
/// Callers never pass bodies, tokens or secrets; names, targets and reasons that came from requests
/// or approvers may hold card numbers, so every line is masked before it is written. They may also hold line breaks
/// and terminal escapes that would forge a line or drive the reader's terminal: text lines escape them
/// (<see cref="FastMcp.Text.PrintableText"/>, after masking, so an escape never splits a card number out of the masker's sight);
/// JSON lines escape them as JSON does.
/// Format "text": `TIME LEVEL message`; format "json": {"time","level","msg"} one object per line.
/// </summary>
internal static class Log
{
    private const int Debug_ = 0, Info_ = 1, Warn_ = 2, Error_ = 3;
    private static volatile int s_minimum = Info_;
    private static volatile bool s_json;

    /// <summary>Where lines go (stderr; tests swap it).</summary>
    internal static TextWriter Output { get; set; } = Console.Error;

    public static bool DebugEnabled
    {
        get => s_minimum == Debug_;
        set => s_minimum = value ? Debug_ : Info_;
    }

    static Log()
    {
        if (Environment.GetEnvironmentVariable("FASTMCP_DEBUG") == "1") s_minimum = Debug_;
    }

    /// <summary>Takes the configured format and level (at start and on reload). FASTMCP_DEBUG=1 keeps debug on.</summary>
    public static void Apply(LogOptions options)
    {
        s_json = options.Format == "json";
        s_minimum = Environment.GetEnvironmentVariable("FASTMCP_DEBUG") == "1" ? Debug_ : options.Level switch
        {
            "debug" => Debug_,
            "warn" => Warn_,
            "error" => Error_,
            _ => Info_,
        };
    }

    /// <summary>True when lines are JSON objects (the access log follows the same format).</summary>
    public static bool Json => s_json;

    public static void Info(string message) => Write(Info_, "info", message);
    public static void Warn(string message) => Write(Warn_, "warn", message);
    public static void Error(string message) => Write(Error_, "error", message);
    public static void Debug(string message) => Write(Debug_, "debug", message);

    /// <summary>The text with every card number masked (first 6 and last 4 digits kept); the same instance when there is none.</summary>
    public static string MaskCards(string message) => Stages.CardText.Mask(message);

    private static void Write(int severity, string level, string message)
    {
        if (severity < s_minimum) return;
        string masked = MaskCards(message);
        string line;
        if (s_json)
        {
            var buffer = new ArrayBufferWriter<byte>(128 + masked.Length);
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("time", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("level", level);
                w.WriteString("msg", masked);
                w.WriteEndObject();
            }
            line = Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        else
        {
            line = $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.ffffffZ} {level} {FastMcp.Text.PrintableText.Escape(masked)}";
        }
        TextWriter output = Output;
        lock (output) output.WriteLine(line);
    }

    /// <summary>Writes a line prepared elsewhere (the access log), with no masking: its fields are masked at the source.</summary>
    internal static void WriteRaw(string line)
    {
        TextWriter output = Output;
        lock (output) output.WriteLine(line);
    }
}
