using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Understudy.Agent.Hosting;

/// <summary>
/// Console logging that reads well wherever it lands: under systemd (JOURNAL_STREAM set) one line
/// per entry with a "&lt;N&gt;" syslog priority prefix, so journald keeps the level; elsewhere plain
/// text, with ANSI colours only when the output is a terminal.
/// </summary>
internal static class AgentLogging
{
    public static void Configure(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        if (IsJournal)
        {
            logging.AddSystemdConsole(o => o.TimestampFormat = null);
            return;
        }
        bool tty = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null;
        logging.AddSimpleConsole(o =>
        {
            o.ColorBehavior = tty ? LoggerColorBehavior.Enabled : LoggerColorBehavior.Disabled;
            o.SingleLine = !tty;
            o.TimestampFormat = tty ? null : "yyyy-MM-ddTHH:mm:ss.fffK ";
        });
    }

    /// <summary>systemd sets JOURNAL_STREAM when stdout/stderr are connected to the journal.</summary>
    public static bool IsJournal => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM"));
}
