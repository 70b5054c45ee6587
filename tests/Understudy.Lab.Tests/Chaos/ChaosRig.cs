using System.Globalization;
using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.LabTests.Failover;
using Understudy.Testing;
using Understudy.Testing.Lab;

namespace Understudy.LabTests.Chaos;

/// <summary>
/// One chaos run's lab: a <see cref="FailoverLab"/> (source and target agents, the source's smbd sharing its data at
/// the service address, the target's smbd, both data directories on small tmpfs) with an etcd witness and the job
/// failing over automatically; and the faults of <see cref="ChaosFault"/>, each applied and undone by
/// <see cref="RunAsync"/>. It keeps a timeline, the boot windows of returning hosts, and what went wrong on the way.
/// </summary>
internal sealed partial class ChaosRig : IAsyncDisposable
{
    public const int DataTmpfsMegabytes = 32;
    private const int SigStop = 19;
    private const int SigCont = 18;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly DateTime _start = DateTime.UtcNow;
    private readonly List<string> _timeline = [];
    private readonly List<(DateTime From, DateTime To)> _boots = [];

    private ChaosRig(FailoverLab f, EtcdWitness etcd)
    {
        F = f;
        Etcd = etcd;
    }

    public FailoverLab F { get; }

    public EtcdWitness Etcd { get; }

    /// <summary>Checker failures found while the faults ran (an agent that would not start again, one that died by itself).</summary>
    public List<string> Violations { get; } = [];

    /// <summary>What happened that is no violation but worth reading (a fail-back refused, a fail-over that could not be forced).</summary>
    public List<string> Notes { get; } = [];

    public int Failbacks { get; private set; }

    public IReadOnlyList<string> Timeline
    {
        get
        {
            lock (_timeline)
                return [.. _timeline];
        }
    }

    /// <summary>
    /// While a returning host boots, its OS brings the static service address up before its agent runs (the unit
    /// starts after network-online.target): an overlap then is the scenario, not a fault of the agent, for as long as
    /// the agent may take to take it down. From the address added to <see cref="DemoteBudget"/> after the agent's start.
    /// </summary>
    public IReadOnlyList<(DateTime From, DateTime To)> BootWindows => [.. _boots];

    public static async Task<ChaosRig> StartAsync()
    {
        var f = await FailoverLab.CreateAsync(new FailoverLabOptions { SourceSamba = true, DataTmpfsMegabytes = DataTmpfsMegabytes });
        try
        {
            Directory.CreateDirectory(Path.Combine(f.SourceData, ChaosClient.Dir));
            var etcd = await EtcdWitness.StartAsync(f.Lab);
            await f.ApplyAndProtectAsync(f.FailoverYaml() + etcd.Yaml);
            await FailoverProbe.WaitEventAsync(f.Source, FailoverLab.Job, EventCode.WitnessAcquired, Deadline);
            return new ChaosRig(f, etcd);
        }
        catch
        {
            await f.DisposeAsync();
            throw;
        }
    }

    public void Log(string line)
    {
        lock (_timeline)
            _timeline.Add(string.Create(CultureInfo.InvariantCulture, $"+{(DateTime.UtcNow - _start).TotalSeconds,6:0.00}s {line}"));
    }

    /// <summary>
    /// The target's fail-over state, read with curl from the API (GET /api/v1/failover/JOB with the agent's token): a CLI
    /// call costs seconds of .NET start-up on a loaded machine, which the schedule's clock would lose every episode.
    /// </summary>
    public async Task<string> TargetStateAsync()
    {
        var token = await File.ReadAllTextAsync(Path.Combine(F.Target.DataDir, "api-token"));
        var r = await F.Lab.ExecAsync(F.Lab.Target, ["curl", "-s", "-m", "10", "-H", $"Authorization: Bearer {token.Trim()}",
            $"http://127.0.0.1:{LabAgent.ApiPort}/api/v1/failover/{FailoverLab.Job}"]);
        try
        {
            return r.ExitCode == 0 ? JsonNode.Parse(r.Stdout)?["failover"]?["state"]?.GetValue<string>() ?? "unknown" : $"unknown (curl exit {r.ExitCode})";
        }
        catch (System.Text.Json.JsonException)
        {
            return "unknown (" + r.Stdout.Trim() + ")";
        }
    }

    /// <summary>Applies <paramref name="e"/> and undoes it (the hold between is the schedule's clock, not a wait for a condition).</summary>
    public async Task RunAsync(ChaosEpisode e)
    {
        Log($"{e} begins (target {await TargetStateAsync()}, holders [{string.Join(",", F.Holders(F.Vip))}])");
        switch (e.Fault)
        {
            case ChaosFault.KillSource or ChaosFault.KillTarget:
                var victim = e.Fault == ChaosFault.KillSource ? F.Source : F.Target;
                victim.Kill();
                await Task.Delay(e.Hold / 4);
                await RestartAsync(victim);
                break;
            case ChaosFault.FreezeSource or ChaosFault.FreezeTarget:
                var frozen = e.Fault == ChaosFault.FreezeSource ? F.Source : F.Target;
                _ = Native.Kill(frozen.Pid, SigStop);
                await Task.Delay(e.Hold);
                _ = Native.Kill(frozen.Pid, SigCont);
                break;
            case ChaosFault.CutSource or ChaosFault.CutTarget:
                var host = e.Fault == ChaosFault.CutSource ? F.Lab.Source : F.Lab.Target;
                await F.Lab.CutLinkAsync(host);
                await Task.Delay(e.Hold);
                await F.Lab.RestoreLinkAsync(host);
                break;
            case ChaosFault.FillSource or ChaosFault.FillTarget:
                var filler = Path.Combine((e.Fault == ChaosFault.FillSource ? F.Source : F.Target).DataDir, "chaos-filler");
                await Task.Run(() => Tmpfs.Fill(filler));
                await Task.Delay(e.Hold);
                File.Delete(filler);
                break;
            case ChaosFault.TargetRestartFailedOver:
                await TargetRebootsAsync(e);
                break;
            case ChaosFault.ReturningSource:
                await SourceReturnsAsync(e);
                break;
            case ChaosFault.Failback:
                await FailbackAsync();
                break;
        }
        await EnsureAgentsAliveAsync($"after {e}");
        Log($"{e} undone (target {await TargetStateAsync()}, holders [{string.Join(",", F.Holders(F.Vip))}])");
    }

    /// <summary>An agent that exited by itself (not by a fault of the run) is a violation of "every loop alive"; it is started again.</summary>
    public async Task EnsureAgentsAliveAsync(string when)
    {
        foreach (var a in new[] { F.Source, F.Target })
        {
            if (a.IsRunning)
                continue;
            Violations.Add($"(3) agent {a.Name} exited by itself ({when}); its log ends: {Tail(a.Log)}");
            await RestartAsync(a);
        }
    }

    private async Task RestartAsync(LabAgent agent)
    {
        try
        {
            await agent.StartAsync();
        }
        catch (Exception ex) when (ex is LabException or TimeoutException)
        {
            Violations.Add($"(3) agent {agent.Name} did not start again: {ex.Message}; log ends: {Tail(agent.Log)}");
            throw;
        }
    }

    public static string Tail(string log, int chars = 1500) => log.Length <= chars ? log : "…" + log[^chars..];

    public async ValueTask DisposeAsync() => await F.DisposeAsync();
}
