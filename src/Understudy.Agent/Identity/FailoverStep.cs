using Understudy.Agent.Events;

namespace Understudy.Agent.Identity;

/// <summary>A step failed. <see cref="Abort"/>: the fail-over cannot go on (it is undone); otherwise it continues with a warning.</summary>
internal sealed class StepFailedException(string message, bool abort, object? eventData = null) : Exception(message)
{
    public bool Abort { get; } = abort;

    /// <summary>Details for the event (e.g. a script's exit code and output).</summary>
    public object? EventData { get; } = eventData;
}

/// <summary>
/// What a step may use while it runs: the job's words for events, the OS seam, and a small durable
/// scratch value (<see cref="Data"/>) kept in the step journal, so a step can write down what it is
/// about to change (e.g. the target's own addresses) before changing it and find it again after a crash.
/// </summary>
internal sealed class StepContext(string job, ICommandRunner commands, IdentityOptions options, Action<EventCode, string, string, object?> report, Action<string?> saveData)
{
    public string Job { get; } = job;

    public ICommandRunner Commands { get; } = commands;

    public IdentityOptions Options { get; } = options;

    public string? Data { get; private set; }

    public void LoadData(string? data) => Data = data;

    /// <summary>Stores <paramref name="data"/> durably before the caller goes on.</summary>
    public void SaveData(string? data)
    {
        Data = data;
        saveData(data);
    }

    public void Info(EventCode code, string message, object? data = null) => report(code, Severity.Info, message, data);

    public void Warn(EventCode code, string message, object? data = null) => report(code, Severity.Warning, message, data);

    /// <summary>Runs a command and fails the step when it fails (unless <paramref name="okExitCodes"/> lists its code).</summary>
    public async Task<CommandResult> RunAsync(string file, IReadOnlyList<string> args, CancellationToken ct, bool abortOnFailure = true, params int[] okExitCodes)
    {
        var r = await Commands.RunAsync(file, args, CommandOptions.Default, ct);
        if (!r.Ok && !okExitCodes.Contains(r.ExitCode))
            throw new StepFailedException($"{file} {string.Join(' ', args)}: {r.Describe()}: {r.Output}", abortOnFailure);
        return r;
    }
}

/// <summary>
/// One idempotent piece of a fail-over: apply takes it, revert gives it back; both may run again
/// after a crash in the middle (the journal records a step before it runs, docs/architecture.md).
/// </summary>
internal interface IFailoverStep
{
    /// <summary>Stable and unique within a plan: the journal matches steps by index and name.</summary>
    string Name { get; }

    /// <summary>The exact actions, for `understudy failover --dry-run`.</summary>
    IReadOnlyList<string> Describe();

    Task ApplyAsync(StepContext ctx, CancellationToken ct);

    Task RevertAsync(StepContext ctx, CancellationToken ct);
}

/// <summary>
/// A step whose files can be written before the decision (issue 21): <see cref="Stage"/> writes them durably while the
/// source is suspect, under names nothing reads, and the step's apply then puts them in place with a rename before it
/// reloads; <see cref="Unstage"/> removes them when the source answers again (or the take-over did not use them).
/// </summary>
internal interface IStagedStep : IFailoverStep
{
    void Stage();

    void Unstage();

    /// <summary>True while anything is staged for the step (tests wait on it).</summary>
    bool Staged { get; }
}
