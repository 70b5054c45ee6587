using System.Globalization;

namespace Understudy.Agent.Common;

/// <summary>
/// The agent's timing knobs from its environment (docs/cli.md, "Agent environment"), read once as the agent starts
/// (<c>AgentHost.CreateAsync</c>, with the capture's <c>WatcherOptions</c> and the take-over's <c>IdentityOptions</c>) and
/// handed down in <see cref="AgentContext.Settings"/>: no part below the host reads an environment variable, so what a
/// part does cannot change under it while it runs, and a test gives a part its settings directly.
/// </summary>
internal sealed record AgentSettings
{
    public static AgentSettings Default { get; } = new();

    /// <summary>How often a passive source polls its target (<c>UNDERSTUDY_PASSIVE_POLL_MS</c>; tests and the demo shorten it).</summary>
    public TimeSpan PassivePoll { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Between rounds of the restore mirror (<c>UNDERSTUDY_RESTORE_SYNC_MS</c>).</summary>
    public TimeSpan RestoreSync { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Replaces the period of every job's <c>verify.schedule</c> (<c>UNDERSTUDY_VERIFY_SCHEDULE_MS</c>; a test
    /// knob: the job file's minimum is one minute); null: each job's own. A job without a schedule gets none.</summary>
    public TimeSpan? VerifySchedule { get; init; }

    /// <summary>Test only (<c>UNDERSTUDY_FAULT_FS</c>): the control file of the fault-injecting file system
    /// (<see cref="Core.Posix.FaultingFileSystem"/>), which then stands below every tree the agent opens; null (always in
    /// production): the real one.</summary>
    public string? FaultFileSystem { get; init; }

    /// <summary>The window over which refused connections from one address are counted into one event
    /// (<c>UNDERSTUDY_REFUSAL_WINDOW_MS</c>, a test knob; Events/RefusalThrottle.cs).</summary>
    public TimeSpan RefusalWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The settings <paramref name="env"/> gives; a value that does not parse as a positive number of
    /// milliseconds leaves the default, as it always did.</summary>
    public static AgentSettings FromEnvironment(Func<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(env);
        var d = Default;
        return new AgentSettings
        {
            PassivePoll = Milliseconds(env("UNDERSTUDY_PASSIVE_POLL_MS")) ?? d.PassivePoll,
            RestoreSync = Milliseconds(env("UNDERSTUDY_RESTORE_SYNC_MS")) ?? d.RestoreSync,
            VerifySchedule = Milliseconds(env("UNDERSTUDY_VERIFY_SCHEDULE_MS")),
            FaultFileSystem = env("UNDERSTUDY_FAULT_FS") is { Length: > 0 } f ? f : null,
            RefusalWindow = Milliseconds(env("UNDERSTUDY_REFUSAL_WINDOW_MS")) ?? d.RefusalWindow,
        };
    }

    private static TimeSpan? Milliseconds(string? value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : null;
}
