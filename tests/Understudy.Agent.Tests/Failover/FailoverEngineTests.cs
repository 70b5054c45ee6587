using System.Buffers;
using Understudy.Agent.Events;
using Understudy.Agent.Failover;
using Understudy.Agent.Identity;
using Understudy.Core.Jobs;
using Understudy.Core.Protocol;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

public sealed class FailoverEngineTests
{
    private const string SourceId = "5f1e0c3a9b7d2e4f6a8c0b1d3e5f7a9c2b4d6e8f0a1c3e5b7d9f1a3c5e7b9d0f";

    private static string Yaml(string trigger = "manual", string policy = "all", string extra = "") => $"""
        name: web
        source:
          paths: [/srv/www]
        target:
          address: backup1
          id: {new string('a', 64)}
          path: /srv/replica/web
        failover:
          monitor:
            addresses: [192.0.2.10, {"{"} address: 192.0.2.11, method: tcp {"}"}]
            interval: 1h
            misses: 3
            policy: {policy}
          trigger: {trigger}
          identity:
            addresses: [{"{"} address: 192.0.2.10/24, interface: eth0 {"}"}]
            server_name: SRC1
            shares: [{"{"} name: www, path: /srv/www/pub {"}"}]
          arp: {"{"} count: 0 {"}"}
        {extra}
        """;

    /// <summary>Never answers until cancelled: the monitor loop's own rounds stay out of the way; tests feed <see cref="FailoverEngine.Observe"/>.</summary>
    private sealed class SilentProber : IAddressProber
    {
        public async Task<bool> ProbeAsync(MonitorAddress address, TimeSpan timeout, CancellationToken ct)
        {
            await Task.Delay(Timeout.Infinite, ct);
            return false;
        }
    }

    /// <summary>Nobody else holds the addresses.</summary>
    private sealed class NobodyProbe : IDuplicateAddressProbe
    {
        public Task<bool> InUseAsync(string device, System.Net.IPAddress address, CancellationToken ct) => Task.FromResult(false);
    }

    private sealed class FakeReplication : IReplicationControl
    {
        public int Stops;

        public Task<long> StopAsync(string sourceId, string job, CancellationToken ct)
        {
            Interlocked.Increment(ref Stops);
            return Task.FromResult(42L);
        }
    }

    private sealed class Rig : IAsyncDisposable
    {
        public StoreHarness H { get; } = new();

        public FakeCommandRunner Commands { get; } = new();

        public FakeReplication Replication { get; } = new();

        public FailoverManager Manager { get; private set; } = null!;

        private readonly IDuplicateAddressProbe _probe;
        private readonly TimeProvider _time;

        public Rig(IDuplicateAddressProbe? probe = null, TimeProvider? time = null)
        {
            _probe = probe ?? new NobodyProbe();
            _time = time ?? TimeProvider.System;
            NewManager();
        }

        public void NewManager() =>
            Manager = new FailoverManager(new FailoverServices(H.Store, H.Events, _time, H.Options, Commands, new SilentProber(), Replication, _probe));

        public async Task RestartAsync()
        {
            await Manager.DisposeAsync();
            H.Reopen();
            NewManager();
            Manager.Start();
        }

        public async ValueTask DisposeAsync()
        {
            await Manager.DisposeAsync();
            H.Dispose();
        }
    }

    private static async Task<FailoverEngine> RegisterAsync(Rig rig, string yaml)
    {
        var spec = JobFile.Parse(yaml, "web.yaml");
        await rig.Manager.OnRegisteredAsync(SourceId, "src1", "web", JobSpecJson.Serialize(spec));
        // As the target's operator does before anything can fail over (issue 19, item 2).
        var engine = rig.Manager.Get("web");
        engine.Approve(engine.PlanDigest);
        return engine;
    }

    /// <summary>Two trusted sources with the same job name (issue 19, item 6): the bare name is ambiguous and says how to
    /// name each; SOURCE/NAME (by the source's name or ID, '/' also as the route's %2F) reaches each one.</summary>
    [Fact]
    public async Task SameJobNameFromTwoSources_AddressedAsSourceSlashName()
    {
        const string otherId = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1";
        await using var rig = new Rig();
        var spec = JobSpecJson.Serialize(JobFile.Parse(Yaml(), "web.yaml"));
        await rig.Manager.OnRegisteredAsync(SourceId, "src1", "web", spec);
        await rig.Manager.OnRegisteredAsync(otherId, "src2", "web", spec);

        var ambiguous = Assert.Throws<Jobs.JobRequestException>(() => rig.Manager.Get("web"));
        Assert.Equal(409, ambiguous.Status);
        Assert.Contains("'src1/web'", ambiguous.Message, StringComparison.Ordinal);
        Assert.Contains("'src2/web'", ambiguous.Message, StringComparison.Ordinal);

        Assert.Equal(SourceId, rig.Manager.Get("src1/web").SourceId);
        Assert.Equal(otherId, rig.Manager.Get("src2/web").SourceId);
        Assert.Equal(otherId, rig.Manager.Get("src2%2Fweb").SourceId);
        Assert.Equal(otherId, rig.Manager.Get($"{otherId.ToUpperInvariant()}/web").SourceId);
        Assert.Equal(404, Assert.Throws<Jobs.JobRequestException>(() => rig.Manager.Get("src3/web")).Status);
        Assert.Equal(404, Assert.Throws<Jobs.JobRequestException>(() => rig.Manager.Get("src1/db")).Status);
    }

    [Fact]
    public async Task Manual_SourceGone_WaitsPending_ThenFailsOverOnCommand_AndStaysFailedOverAcrossRestart()
    {
        await using var rig = new Rig();
        var engine = await RegisterAsync(rig, Yaml());
        Assert.Equal(FailoverState.Protecting, engine.State);
        for (int i = 0; i < 3; i++)
            engine.Observe([false, false]);
        Assert.Equal(FailoverState.Pending, engine.State);
        Assert.Empty(rig.Commands.Lines);
        Assert.Null(rig.Manager.RefusalFor(SourceId, "web"));
        Assert.Equal(0d, engine.View().TimeLeftSeconds);
        Assert.Contains(rig.H.EventsOf("web"), e => e.Code == EventCode.FailoverPending);

        var outcome = await engine.CommandAsync(OperatorCommand.FailOver, force: true, CancellationToken.None);
        Assert.True(outcome!.Completed);
        Assert.Equal(FailoverState.FailedOver, engine.State);
        Assert.Equal(1, rig.Replication.Stops);
        Assert.Contains("ip addr add 192.0.2.10/24 dev eth0", rig.Commands.Lines);
        Assert.Contains("path = /srv/replica/web/pub", File.ReadAllText(Path.Combine(rig.H.Options.SambaIncludeDir, "shares.conf")), StringComparison.Ordinal);
        Assert.NotNull(rig.Manager.RefusalFor(SourceId, "web"));
        await Assert.ThrowsAsync<Jobs.JobRequestException>(() => engine.CommandAsync(OperatorCommand.FailOver, false, CancellationToken.None));

        await rig.RestartAsync();
        Assert.Equal(FailoverState.FailedOver, rig.Manager.Get("web").State);
        Assert.NotNull(rig.Manager.RefusalFor(SourceId, "web"));
    }

    [Fact]
    public async Task Automatic_PolicyAll_OneAddressLost_DoesNotFailOver_BothLost_Does()
    {
        await using var rig = new Rig();
        var engine = await RegisterAsync(rig, Yaml(trigger: "automatic"));
        for (int i = 0; i < 5; i++)
            engine.Observe([false, true]);
        Assert.Equal(FailoverState.Suspect, engine.State);
        Assert.Null(engine.Takeover);
        var view = engine.View();
        Assert.Equal(["missing", "up"], view.Addresses.Select(a => a.State));
        Assert.Equal(5, view.Addresses[0].Misses);
        Assert.Equal(7420, view.Addresses[1].Port);

        for (int i = 0; i < 3; i++)
            engine.Observe([false, false]);
        var outcome = await engine.Takeover!.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(outcome.Completed);
        Assert.Equal(FailoverState.FailedOver, engine.State);
    }

    private static string[] StagedFiles(Rig rig) =>
        [.. Directory.EnumerateFiles(rig.H.Options.SambaIncludeDir, "*understudy-staged", SearchOption.AllDirectories)];

    /// <summary>
    /// Issue 21: from the first miss the server name and the shares are staged (written durably under names smbd never
    /// reads: nothing is served), and the stage is removed when the source answers again. New behaviour: before it,
    /// nothing was written until the decision (the test did not build: no stage to look at).
    /// </summary>
    [Fact]
    public async Task Suspect_StagesNameAndShares_NotServed_SourceAnswersAgain_StageRemoved()
    {
        await using var rig = new Rig();
        var engine = await RegisterAsync(rig, Yaml(trigger: "automatic"));
        var shares = Path.Combine(rig.H.Options.SambaIncludeDir, "shares.conf");

        engine.Observe([false, false]);
        Assert.Equal(FailoverState.Suspect, engine.State);
        await engine.StagingDone.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, engine.StagedSteps().Count);
        Assert.All(engine.StagedSteps(), s => Assert.True(s.Staged, s.Name));
        Assert.NotEmpty(StagedFiles(rig));
        Assert.False(File.Exists(shares) && File.ReadAllText(shares).Contains("[www]", StringComparison.Ordinal), "a staged share is not served");
        Assert.DoesNotContain(rig.Commands.Lines, l => l.Contains("smbcontrol", StringComparison.Ordinal));
        Assert.Contains(rig.H.EventsOf("web"), e => e.Code == EventCode.IdentityStaged);

        engine.Observe([true, true]);
        Assert.Equal(FailoverState.Protecting, engine.State);
        await engine.StagingDone.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Empty(StagedFiles(rig));
        Assert.All(engine.StagedSteps(), s => Assert.False(s.Staged, s.Name));
        Assert.Contains(rig.H.EventsOf("web"), e => e.Code == EventCode.IdentityUnstaged);
    }

    /// <summary>Issue 21: a take-over after a staged suspect phase serves exactly what it would have written, and no stage is left.</summary>
    [Fact]
    public async Task Suspect_Staged_Takeover_ServesTheShares_NoStageLeft()
    {
        await using var rig = new Rig();
        var engine = await RegisterAsync(rig, Yaml(trigger: "automatic"));
        engine.Observe([false, false]);
        await engine.StagingDone.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEmpty(StagedFiles(rig));

        engine.Observe([false, false]);
        engine.Observe([false, false]);
        var outcome = await engine.Takeover!.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(outcome.Completed);
        await engine.StagingDone.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("path = /srv/replica/web/pub", File.ReadAllText(Path.Combine(rig.H.Options.SambaIncludeDir, "shares.conf")), StringComparison.Ordinal);
        Assert.Contains("netbios aliases = SRC1", File.ReadAllText(Path.Combine(rig.H.Options.SambaIncludeDir, "global.conf")), StringComparison.Ordinal);
        Assert.Empty(StagedFiles(rig));
    }

    /// <summary>Issue 21: the address is probed while misses accumulate; the take-over finds it known free and adds it
    /// without probing again (the fake clock stands still, so the suspect phase's one round stays recent).</summary>
    [Fact]
    public async Task Automatic_SuspectPhaseFindsTheAddressFree_TakeoverAddsItWithoutANewWait()
    {
        var probe = new ScriptedDadProbe(() => false);
        await using var rig = new Rig(probe, new Microsoft.Extensions.Time.Testing.FakeTimeProvider());
        var engine = await RegisterAsync(rig, Yaml(trigger: "automatic"));
        var vip = new InterfaceAddress("192.0.2.10/24", "eth0");
        Assert.Null(engine.EarlyDad.Verdict(vip));

        engine.Observe([false, false]);
        Assert.Equal(FailoverState.Suspect, engine.State);
        await Wait.UntilAsync(() => engine.EarlyDad.Verdict(vip)?.KnownFree == true, TimeSpan.FromSeconds(30), "a round of probes without an answer");
        for (int i = 0; i < 2; i++)
            engine.Observe([false, false]);
        var outcome = await engine.Takeover!.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(outcome.Completed, outcome.AbortReason);
        Assert.Equal(1, probe.Calls);
        Assert.Contains("ip addr add 192.0.2.10/24 dev eth0", rig.Commands.Lines);
        Assert.Contains(rig.H.EventsOf("web"), e => e.Code == EventCode.AddressKnownFree);
        Assert.False(engine.EarlyDad.Probing);
    }

    /// <summary>Issue 21: probing runs while suspect (manual trigger too), not while pending (an operator may take hours), and again once suspect.</summary>
    [Fact]
    public async Task Manual_ProbesWhileSuspect_NotWhilePending()
    {
        await using var rig = new Rig(new ScriptedDadProbe(() => false), new Microsoft.Extensions.Time.Testing.FakeTimeProvider());
        var engine = await RegisterAsync(rig, Yaml());
        Assert.False(engine.EarlyDad.Probing);
        engine.Observe([false, false]);
        Assert.True(engine.EarlyDad.Probing);
        for (int i = 0; i < 2; i++)
            engine.Observe([false, false]);
        Assert.Equal(FailoverState.Pending, engine.State);
        Assert.False(engine.EarlyDad.Probing);
        engine.Observe([true, false]);
        Assert.Equal(FailoverState.Suspect, engine.State);
        Assert.True(engine.EarlyDad.Probing);
        engine.Observe([true, true]);
        Assert.Equal(FailoverState.Protecting, engine.State);
        Assert.False(engine.EarlyDad.Probing);
    }

    /// <summary>Issue 21's guard: an address that answers while the source is suspect is not taken on early evidence; the
    /// take-over's own detection finds it answering and refuses it.</summary>
    [Fact]
    public async Task Automatic_AddressAnswersDuringTheSuspectPhase_IsNotTaken()
    {
        var probe = new ScriptedDadProbe(() => true);
        await using var rig = new Rig(probe, new Microsoft.Extensions.Time.Testing.FakeTimeProvider());
        var engine = await RegisterAsync(rig, Yaml(trigger: "automatic"));
        engine.Observe([false, false]);
        await Wait.UntilAsync(() => rig.H.EventsOf("web").Any(e => e.Code == EventCode.EarlyDadAnswered), TimeSpan.FromSeconds(30), "the answer reported");
        for (int i = 0; i < 2; i++)
            engine.Observe([false, false]);
        var outcome = await engine.Takeover!.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(outcome.Completed);
        Assert.Contains("still answers", outcome.AbortReason, StringComparison.Ordinal);
        Assert.Equal(2, probe.Calls); // the suspect phase's round, then the take-over's own
        Assert.DoesNotContain(rig.Commands.Lines, l => l.StartsWith("ip addr add", StringComparison.Ordinal));
        Assert.Contains(rig.H.EventsOf("web"), e => e.Code == EventCode.EarlyDadNotUsed);
        Assert.DoesNotContain(rig.H.EventsOf("web"), e => e.Code == EventCode.AddressKnownFree);
        Assert.Equal(FailoverState.Pending, engine.State);
    }

    [Fact]
    public async Task FailingPreScript_AbortsAndUndoes_JobWaitsForAnOperator()
    {
        await using var rig = new Rig();
        File.WriteAllText(Path.Combine(rig.H.Options.ScriptsDir, "pre.sh"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(rig.H.Options.ScriptsDir, "pre.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        rig.Commands.Respond = (f, _) => f.EndsWith("/pre.sh", StringComparison.Ordinal) ? new CommandResult(1, "app refuses to stop", false) : new CommandResult(0, "", false);
        var yaml = Yaml() + """

              scripts:
                pre_failover: [ { run: pre.sh } ]
                abort_on_pre_failure: true
            """;
        var engine = await RegisterAsync(rig, yaml);
        var outcome = await engine.CommandAsync(OperatorCommand.FailOver, force: true, CancellationToken.None);
        Assert.False(outcome!.Completed);
        Assert.Contains("app refuses to stop", outcome.AbortReason, StringComparison.Ordinal);
        Assert.Equal(FailoverState.Pending, engine.State);
        Assert.DoesNotContain(rig.Commands.Lines, l => l.StartsWith("ip addr add", StringComparison.Ordinal));
        Assert.Null(rig.Manager.RefusalFor(SourceId, "web"));
    }

    [Fact]
    public async Task AgentKilledMidFailover_RestartFinishesIt()
    {
        await using var rig = new Rig();
        var engine = await RegisterAsync(rig, Yaml());
        // What a kill after the first two steps leaves behind: state failing-over, steps 1-2 journaled as applied.
        var plan = engine.BuildPlan(force: true);
        rig.H.Store.SaveFailoverState(SourceId, "web", FailoverState.FailingOver.Name(), "killed", false);
        rig.H.Store.SaveStep(SourceId, "web", FailoverEngine.Phase, new State.StoredStep(0, plan[0].Name, StepStatus.Applied, null, null));
        rig.H.Store.SaveStep(SourceId, "web", FailoverEngine.Phase, new State.StoredStep(1, plan[1].Name, StepStatus.Applying, null, null));

        await rig.RestartAsync();
        var resumed = rig.Manager.Get("web");
        var outcome = await resumed.Takeover!.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(outcome.Completed);
        Assert.Equal(FailoverState.FailedOver, resumed.State);
        Assert.Equal(0, rig.Replication.Stops); // step 1 was done before the kill
        Assert.Contains(rig.H.EventsOf("web"), e => e.Code == EventCode.StepsResumed);
    }

    [Fact]
    public async Task Failback_SourceConnectedButFirstRestoreRoundNotFinished_IsRefused_WithWhatToRun()
    {
        await using var rig = new Rig();
        var replica = Path.Combine(rig.H.Dir, "replica");
        Directory.CreateDirectory(replica);
        File.WriteAllText(Path.Combine(replica, "a.txt"), "written on the target during the fail-over");
        var engine = await RegisterAsync(rig, Yaml().Replace("/srv/replica/web", replica, StringComparison.Ordinal));
        Assert.True((await engine.CommandAsync(OperatorCommand.FailOver, force: true, CancellationToken.None))!.Completed);
        engine.StartRestore(force: false);
        Assert.Equal(FailoverState.Restoring, engine.State);

        // The passive source's poll connection, with a source that opens the restore link and then never answers
        // the first round's manifest request: the link is up, its first round cannot finish.
        await using var peers = new Support.LoopbackPeers();
        // The restore link owns (and disposes) the target's end; ending the source's end ends the link.
        var (fromTarget, toSource) = await peers.ConnectAsync("target", SourceId);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var accept = engine.RestoreRun!.AcceptAsync(toSource, 0, cts.Token);
        try
        {
            await SourceStallsInFirstRoundAsync(fromTarget, cts.Token);
            Assert.Equal("mirroring", engine.View().Restore!.Phase);
            var refused = await Assert.ThrowsAsync<Jobs.JobRequestException>(() => engine.FailbackAsync(CancellationToken.None));
            Assert.Equal(409, refused.Status);
            Assert.Contains("the restore is not finished", refused.Message, StringComparison.Ordinal);
            Assert.Contains("'understudy failback web' again", refused.Message, StringComparison.Ordinal);
            Assert.Equal(FailoverState.Restoring, engine.State);
            Assert.DoesNotContain(rig.H.EventsOf("web"), e => e.Code == EventCode.FailbackStarted);
        }
        finally
        {
            await fromTarget.DisposeAsync();
            await accept.WaitAsync(cts.Token);
        }
    }

    /// <summary>Plays the passive source: accepts the restore, opens the link, then never answers the first round's manifest request.</summary>
    private static async Task SourceStallsInFirstRoundAsync(Peer.PeerConnection fromTarget, CancellationToken ct)
    {
        using (var answer = await fromTarget.ReceiveAsync(ct))
            Assert.Contains("restore", Assert.IsType<ControlReply>(answer!.Message).Json, StringComparison.Ordinal);
        await fromTarget.SendAsync(new JobOpened("web", 0, true), ct);
        using (var first = await fromTarget.ReceiveAsync(ct))
            Assert.IsType<ManifestRequest>(first!.Message);
    }

    [Fact]
    public async Task DryRun_ListsTheExactSteps()
    {
        await using var rig = new Rig();
        var engine = await RegisterAsync(rig, Yaml(extra: ""));
        var lines = TakeoverPlan.Describe(engine.BuildPlan(force: false));
        Assert.StartsWith("1. stop replication", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Contains("ip addr add 192.0.2.10/24 dev eth0", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("ARP probe for 192.0.2.10 on eth0", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("share [www] path = /srv/replica/web/pub", StringComparison.Ordinal));
        Assert.Empty(rig.Commands.Lines);
    }

    [Fact]
    public async Task Reregistration_WithoutFailoverSection_StopsMonitoring()
    {
        await using var rig = new Rig();
        await RegisterAsync(rig, Yaml());
        var plain = JobFile.Parse(Yaml().Split("failover:")[0], "web.yaml");
        await rig.Manager.OnRegisteredAsync(SourceId, "src1", "web", JobSpecJson.Serialize(plain));
        Assert.Empty(rig.Manager.Engines);
        Assert.Empty(rig.H.Store.ListFailover());
    }

    [Fact]
    public void OpenJob_CarriesTheJobJson_AndOlderFramesStillDecode()
    {
        static Message RoundTrip(Message m)
        {
            var w = new ArrayBufferWriter<byte>();
            m.Write(new WireWriter(w));
            return MessageCodec.Decode(m.Type, w.WrittenMemory.ToArray());
        }
        var withJson = (OpenJob)RoundTrip(new OpenJob("web", "/srv/replica/web", "src1", "{\"name\":\"web\"}"));
        Assert.Equal("{\"name\":\"web\"}", withJson.JobJson);
        var old = (OpenJob)RoundTrip(new OpenJob("web", "/srv/replica/web", "src1"));
        Assert.Equal("", old.JobJson);
    }
}
