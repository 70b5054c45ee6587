namespace Understudy.Core.Jobs;

/// <summary>
/// A job definition is wrong: bad YAML, an unknown key, a wrong type or an invalid value. The
/// message is for an administrator: <c>FILE:LINE:COL: key 'a.b': what was expected, got what</c>.
/// From <see cref="JobSpec.Validate"/> on a spec that came from JSON there is no file and no line.
/// </summary>
internal sealed class JobFileException : Exception
{
    public JobFileException(string reason, string keyPath, string? fileName = null, int line = 0, int column = 0)
        : base(Format(reason, keyPath, fileName, line, column))
    {
        Reason = reason;
        KeyPath = keyPath;
        FileName = fileName;
        Line = line;
        Column = column;
    }

    /// <summary>The file the job came from; null for a spec built in code or received as JSON.</summary>
    public string? FileName { get; }

    /// <summary>1-based line; 0 when unknown.</summary>
    public int Line { get; }

    /// <summary>1-based column; 0 when unknown.</summary>
    public int Column { get; }

    /// <summary>Dotted key, with list indexes: <c>failover.monitor.addresses[1].port</c>; empty for the whole file.</summary>
    public string KeyPath { get; }

    /// <summary>The message without its location prefix.</summary>
    public string Reason { get; }

    /// <summary>The same error placed in a file (used when validation runs on a parsed file).</summary>
    public JobFileException At(string? fileName, int line, int column) => new(Reason, KeyPath, fileName, line, column);

    private static string Format(string reason, string keyPath, string? fileName, int line, int column)
    {
        var location = fileName is null ? "" : line > 0 ? $"{fileName}:{line}:{column}: " : $"{fileName}: ";
        if (fileName is null && line > 0)
            location = $"line {line}:{column}: ";
        var key = keyPath.Length > 0 ? $"key '{keyPath}': " : "";
        return location + key + reason;
    }
}
