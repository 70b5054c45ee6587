using System.Text.Json.Nodes;
using Understudy.Testing;
using Xunit;

namespace Understudy.Console.Tests.Api;

/// <summary>`understudy stop` / `start` (POST /api/v1/jobs/{name}/stop, /start) against real agents.</summary>
public sealed class JobStopStartTests
{
    [Fact]
    public async Task Stop_KeepsTheJobStoppedAcrossARestart_RefusesCommands_StartCatchesUpWhatChanged()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        await File.WriteAllTextAsync(Path.Combine(pair.SourceData, "a.txt"), "before the stop");
        await pair.ApplyAsync(pair.JobYaml());
        await pair.WaitMirroredAsync();
        (await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "60")).EnsureOk();

        var stop = await pair.Source.CliAsync("stop", "job1");
        Assert.True(stop.ExitCode == 0, stop.Stderr + stop.Stdout);
        Assert.StartsWith("job1: stopped (stopped by user at ", stop.Stdout, StringComparison.Ordinal);
        var status = await pair.Source.StatusAsync("job1");
        Assert.Equal("stopped", status["state"]!.GetValue<string>());
        Assert.Contains("'understudy start job1'", status["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(status["mirrored"]!.GetValue<bool>());
        // Stopping twice is harmless and keeps the first reason.
        Assert.Equal(stop.Stdout, (await pair.Source.CliAsync("stop", "job1")).EnsureOk().Stdout);

        // A stopped job runs nothing: its commands are refused (exit 2) rather than left waiting, and wait ends at once.
        var mirror = await pair.Source.CliAsync("mirror", "job1");
        Assert.Equal(2, mirror.ExitCode);
        Assert.Contains("job 'job1' is stopped: 'understudy start job1' first", mirror.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, (await pair.Source.CliAsync("pause", "job1")).ExitCode);
        Assert.Equal(2, (await pair.Source.CliAsync("verify", "job1")).ExitCode);
        var wait = await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "30");
        Assert.Equal(1, wait.ExitCode);
        Assert.Contains("job is stopped", wait.Stderr, StringComparison.Ordinal);

        // Changes while stopped are not captured; the job stays stopped when its agent restarts.
        await File.WriteAllTextAsync(Path.Combine(pair.SourceData, "b.txt"), "while stopped");
        await pair.Source.StopAsync();
        await pair.Source.StartAsync();
        Assert.Equal("stopped", (await pair.Source.StatusAsync("job1"))["state"]!.GetValue<string>());
        Assert.False(File.Exists(Path.Combine(pair.TargetData, "b.txt")));

        var start = await pair.Source.CliAsync("start", "job1");
        Assert.True(start.ExitCode == 0, start.Stderr + start.Stdout);
        // As after an agent start: connecting, then the difference scan (mirroring), then replicating.
        Assert.Matches("^job1: (connecting|mirroring|replicating)", start.Stdout);
        (await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "120")).EnsureOk();
        Assert.Equal("while stopped", await File.ReadAllTextAsync(Path.Combine(pair.TargetData, "b.txt")));
        Assert.Equal("replicating", (await pair.Source.StatusAsync("job1"))["state"]!.GetValue<string>());

        // Replication runs again after the start.
        await File.WriteAllTextAsync(Path.Combine(pair.SourceData, "c.txt"), "after the start");
        await Wait.UntilAsync(() => File.Exists(Path.Combine(pair.TargetData, "c.txt")), TimeSpan.FromSeconds(60), "c.txt to be replicated");

        // Event codes by name (docs/events.md): this project does not see the agent's EventCode enum.
        var codes = (await pair.Source.CliAsync("events", "--job", "job1", "--json")).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!["codeName"]!.GetValue<string>()).ToList();
        Assert.Contains("JobStopped", codes);
        Assert.Contains("JobStarted", codes);

        var unknown = await pair.Source.CliAsync("stop", "nope");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("no job named 'nope'", unknown.Stderr, StringComparison.Ordinal);
    }
}
