using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication.Faults.Support;

/// <summary>
/// A source and target agent with one replicating job, one of them running on the fault-injecting file system
/// (UNDERSTUDY_FAULT_FS: a control file rewritten while the agent runs). Started mirrored and with one change
/// replicated (a.txt before the job, b.txt after). Shared by the storage-fault tests of either side.
/// </summary>
internal sealed class FaultFsPair : IAsyncDisposable
{
    private readonly string _control;
    private readonly string _side;
    private readonly string _root;

    private FaultFsPair(AgentPair pair, bool onSource, string root)
    {
        Pair = pair;
        _control = pair.Dir.Sub("fs-faults");
        _side = onSource ? "source" : "target";
        _root = root;
        (onSource ? pair.Source : pair.Target).Environment["UNDERSTUDY_FAULT_FS"] = _control;
    }

    public AgentPair Pair { get; }

    /// <summary>Starts the pair with the faulting file system on the source or the target; faults set later apply below
    /// <paramref name="root"/> (a path as the agent's descriptors show it, /proc/self/fd: every symlink resolved).</summary>
    public static async Task<FaultFsPair> StartAsync(bool onSource, Func<AgentPair, string> root)
    {
        var pair = new AgentPair();
        var f = new FaultFsPair(pair, onSource, root(pair));
        try
        {
            await pair.StartAsync();
            File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "before");
            await pair.ApplyAsync(pair.JobYaml());
            await pair.WaitMirroredAsync();
            File.WriteAllText(Path.Combine(pair.SourceData, "b.txt"), "replicated");
            (await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "60")).EnsureOk();
            Assert.Contains(EventCode.FaultFileSystemOn, (await (onSource ? pair.Source : pair.Target).EventsAsync()).Codes());
            return f;
        }
        catch
        {
            await f.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sets the fault and returns once the agent's fault file system has it in force (it writes FILE.applied).</summary>
    public Task FaultAsync(string opsAndErrno) => SetAsync($"{opsAndErrno} {_root}\n");

    /// <summary>Clears the fault (in force when this returns).</summary>
    public Task ClearAsync() => SetAsync("");

    private async Task SetAsync(string rules)
    {
        File.WriteAllText(_control, rules);
        await Wait.UntilAsync(() => File.Exists(_control + ".applied") && File.ReadAllText(_control + ".applied") == rules,
            TimeSpan.FromSeconds(30), $"the {_side}'s fault file system to read its control file");
    }

    /// <summary>Waits (up to 2 minutes) until `wait --until idle` succeeds by itself; a time-out says <paramref name="describe"/>.</summary>
    public async Task WaitIdleAsync(string what, Func<Task<string>> describe)
    {
        try
        {
            await Wait.UntilAsync(async () =>
                (await Pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "5")).ExitCode == 0,
                TimeSpan.FromSeconds(120), what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; {await describe()}", e);
        }
    }

    public ValueTask DisposeAsync() => Pair.DisposeAsync();
}
