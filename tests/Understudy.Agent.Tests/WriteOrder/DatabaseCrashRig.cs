using System.Globalization;
using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;
using static Understudy.Agent.Tests.Failback.FailbackAgentTests;

namespace Understudy.Agent.Tests.WriteOrder;

/// <summary>
/// One crash round of a database under load in a write-order job (issue 17): a loop btrfs whose subvolume is the
/// job's source path, a pair of real agents replicating it to the host's ext4, then "the source server dies" (kill -9
/// of the source agent and the database's processes, back to back), a fail-over, and the replica left for the test to
/// open with the database's own recovery.
/// </summary>
internal sealed class DatabaseCrashRig : IAsyncDisposable
{
    private readonly LoopBtrfs _fs;
    private readonly AgentPair _pair;

    private DatabaseCrashRig(LoopBtrfs fs, AgentPair pair)
    {
        _fs = fs;
        _pair = pair;
    }

    /// <summary>The protected subvolume (the source path).</summary>
    public string Vol => _fs.Vol;

    /// <summary>The replica: the job's target path.</summary>
    public string Replica => _pair.TargetData;

    /// <summary>A scratch directory outside both (sockets, copies to open).</summary>
    public string Scratch(string name)
    {
        var d = _pair.Dir.Sub(name);
        Directory.CreateDirectory(d);
        return d;
    }

    public static async Task<DatabaseCrashRig> StartAsync()
    {
        var fs = new LoopBtrfs();
        try
        {
            // A database run as its own user (PostgreSQL refuses root) must reach the subvolume: the temp directories
            // are created 0700.
            File.SetUnixFileMode(fs.Root, (UnixFileMode)0b111_101_101);
            File.SetUnixFileMode(fs.Mount, (UnixFileMode)0b111_101_101);
            var pair = await StartPairAsync();
            File.SetUnixFileMode(pair.Dir.Path, (UnixFileMode)0b111_101_101);
            return new DatabaseCrashRig(fs, pair);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    /// <summary>Applies the write-order job over the subvolume (the database already in it), waits for the base and
    /// for the target to hold a point.</summary>
    public async Task ProtectAsync()
    {
        var yaml = _pair.JobYaml(extra: "replication:\n  consistency: write-order\n" + _pair.FailoverYaml())
            .Replace(_pair.SourceData, _fs.Vol, StringComparison.Ordinal);
        await _pair.ApplyAsync(yaml);
        await _pair.WaitMirroredAsync();
        await Wait.UntilAsync(async () => await TargetPointAsync() is not null, TimeSpan.FromSeconds(60), "the target to hold a point");
    }

    /// <summary>The point the target holds (writeOrder.pointApplied of its hosted job).</summary>
    public async Task<long?> TargetPointAsync()
    {
        var r = await _pair.Target.CliAsync("status", "--json");
        var job = JsonNode.Parse(r.Stdout)!["hosted"]!.AsArray().FirstOrDefault(h => h!["name"]!.GetValue<string>() == "job1");
        return job?["writeOrder"]?["pointApplied"]?.GetValue<long?>();
    }

    /// <summary>Waits until the target has applied <paramref name="more"/> points beyond the one it holds now: the
    /// load is being replicated, not just the state before it.</summary>
    public async Task WaitPointsAsync(int more)
    {
        long from = await TargetPointAsync() ?? -1;
        await Wait.UntilAsync(async () => await TargetPointAsync() >= from + more, TimeSpan.FromSeconds(60), $"{more} points applied under load");
    }

    /// <summary>The source server dies: SIGKILL to the source agent, then to <paramref name="pids"/>, with nothing in
    /// between (AgentProcess.Kill walks the process tree first, which on a busy machine let the database commit for
    /// another second). Returns the moment just before, the clock the acknowledged commits are measured against.</summary>
    public DateTime KillSource(IEnumerable<int> pids)
    {
        var at = DateTime.UtcNow;
        _ = Native.Kill(_pair.Source.Pid, 9);
        foreach (var pid in pids)
            _ = Native.Kill(pid, 9);
        _pair.Source.Kill(); // reaps it (and any child)
        return at;
    }

    /// <summary>Waits until the killed processes are gone (a process in an fsync dies when the write returns; a zombie
    /// waits for PID 1 to reap it). PostgreSQL on the replica would otherwise find its source's postmaster pid alive
    /// (the test's replica is on the same machine, where the pid of postmaster.pid is the source's).</summary>
    public static Task WaitGoneAsync(IEnumerable<int> pids) =>
        Wait.UntilAsync(() => pids.All(p => !Directory.Exists($"/proc/{p}")), TimeSpan.FromSeconds(60), "the killed processes to be gone");

    /// <summary>Fails the job over on the target; returns the fail-over's events (they state the RPO).</summary>
    public async Task<string> FailoverAsync()
    {
        await _pair.Target.ApproveFailoverAsync("job1");
        (await _pair.Target.CliAsync("failover", "job1")).EnsureOk();
        var events = await _pair.Target.EventsAsync("job1", 500);
        return string.Join('\n', events.Where(e => e.Code() is EventCode.ReplicationStopped or EventCode.ReplicaIncomplete).Select(e => e.Message()));
    }

    public async ValueTask DisposeAsync()
    {
        await _pair.DisposeAsync();
        _fs.Dispose();
    }

    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);
}
