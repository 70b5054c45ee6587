using Microsoft.Extensions.Logging;

namespace Understudy.Agent.Events;

/// <summary>
/// A debug trace of what replication does, operation by operation: each record the source sends and how (content, a
/// link, skipped), each operation the target applies. Off unless the log level of the category "Understudy.Trace" is
/// Debug (environment <c>Logging__LogLevel__Understudy.Trace=Debug</c>, docs/cli.md "Agent environment"): the convergence tests
/// switch it on so a rare divergence can be read from the run that found it. Callers check <see cref="On"/> before
/// building the text.
/// </summary>
internal sealed partial class OpTrace(ILogger logger)
{
    public static readonly OpTrace None = new(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    public bool On => logger.IsEnabled(LogLevel.Debug);

    public void Write(string job, string what) => Log(logger, job, what);

    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "trace {Job} {What}")]
    private static partial void Log(ILogger logger, string job, string what);
}
