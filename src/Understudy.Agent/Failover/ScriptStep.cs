using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Failover;

/// <summary>What a script is told: job, phase, and the identity being moved.</summary>
internal sealed record ScriptEnvironment(string Job, string Phase, IReadOnlyList<string> Addresses, IReadOnlyList<string> Shares)
{
    public const string PreFailover = "pre-failover";
    public const string PostFailover = "post-failover";
    public const string PreFailback = "pre-failback";
    public const string PostFailback = "post-failback";

    public IReadOnlyDictionary<string, string> ToVariables() => new Dictionary<string, string>
    {
        ["UNDERSTUDY_JOB"] = Job,
        ["UNDERSTUDY_PHASE"] = Phase,
        ["UNDERSTUDY_ADDRESSES"] = string.Join(' ', Addresses),
        ["UNDERSTUDY_SHARES"] = string.Join(' ', Shares),
    };
}

/// <summary>
/// One pre/post script as a step: run without a shell, with a time limit, output into the event log. The plan names the
/// script; it runs only from the target's own scripts directory (<see cref="ScriptPath"/>).
/// A failing pre-script aborts when the job file says so (<c>abort_on_pre_failure</c>); a failing
/// post-script is a warning (the identity has already moved). Scripts are not undone: revert does nothing.
/// After a crash in the middle, the script runs again, so scripts should be idempotent (docs/job-file.md).
/// </summary>
internal sealed class ScriptStep(ScriptSpec script, ScriptEnvironment env, bool abortOnFailure, int ordinal) : IFailoverStep
{
    public string Name => $"{env.Phase} script #{ordinal + 1} {script.Run}";

    public IReadOnlyList<string> Describe() =>
        [$"run {script.Run} from this agent's scripts directory (timeout {script.Timeout.TotalSeconds:0.###} s; {(abortOnFailure ? "failure aborts" : "failure is a warning")}) with "
            + string.Join(' ', env.ToVariables().Select(kv => $"{kv.Key}='{kv.Value}'"))];

    public async Task ApplyAsync(StepContext ctx, CancellationToken ct)
    {
        var file = ScriptPath.Resolve(ctx.Options.ScriptsDir, script.Run, out var refused);
        if (file is null)
            throw new StepFailedException($"{env.Phase} script {script.Run} refused: {refused}", abortOnFailure, new { script = script.Run, phase = env.Phase, refused });
        var r = await ctx.Commands.RunAsync(file, [], new CommandOptions(script.Timeout, env.ToVariables(), Script: true), ct);
        var data = new { script = script.Run, phase = env.Phase, exitCode = r.ExitCode, timedOut = r.TimedOut, output = r.Output };
        if (r.Ok)
        {
            ctx.Info(EventCode.ScriptSucceeded, $"{env.Phase} script {script.Run} succeeded" + (r.Output.Length > 0 ? $": {FirstLine(r.Output)}" : ""), data);
            return;
        }
        var what = r.TimedOut ? $"timed out after {script.Timeout.TotalSeconds:0.###} s" : r.ExitCode == 127 ? $"could not run ({r.Output})" : $"failed with exit code {r.ExitCode}";
        throw new StepFailedException($"{env.Phase} script {script.Run} {what}" + (r.Output.Length > 0 && r.ExitCode != 127 ? $": {FirstLine(r.Output)}" : ""), abortOnFailure, data);
    }

    private static string FirstLine(string s)
    {
        var line = s.Split('\n')[0];
        return line.Length > 200 ? line[..200] + "…" : line;
    }

    public Task RevertAsync(StepContext ctx, CancellationToken ct) => Task.CompletedTask;
}
