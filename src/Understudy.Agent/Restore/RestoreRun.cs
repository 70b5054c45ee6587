using System.Globalization;
using System.Text.Json;
using Understudy.Agent.Events;
using Understudy.Agent.Jobs;
using Understudy.Agent.Peer;
using Understudy.Agent.Source;
using Understudy.Agent.State;
using Understudy.Core.Jobs;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;
using Understudy.Core.Protocol.Control;

namespace Understudy.Agent.Restore;

/// <summary>
/// One hosted job's restore on the target: a <see cref="RestoreLink"/> per source root, opened by the
/// passive source's polls (this target may not know an address of the source), and the conflicts the
/// source reported. Lives from `understudy restore` until fail-back completes.
/// </summary>
/// <param name="syncInterval">Between rounds of the restore mirror (<see cref="Common.AgentSettings.RestoreSync"/>).</param>
internal sealed class RestoreRun(JobSpec spec, string sourceId, StateStore store, EventLog events, TimeProvider time, TimeSpan syncInterval) : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly RestoreLink?[] _links = new RestoreLink?[spec.Source.Paths.Count];
    private readonly List<Task> _running = [];
    private readonly CancellationTokenSource _stop = new();

    private string ConflictsKey => $"restore-conflicts/{sourceId}/{spec.Name}";

    /// <summary>Where the fail-over's start is kept (ns since the epoch): clients changed nothing here before it.</summary>
    public static string FailedOverAtKey(string sourceId, string job) => $"failed-over-at/{sourceId}/{job}";

    /// <summary>The first round of each link takes every entry changed since the fail-over as changed (by its ctime);
    /// unknown (a fail-over recorded by an older agent): every entry.</summary>
    private long ChangedSinceFailoverNs =>
        long.TryParse(store.GetValue(FailedOverAtKey(sourceId, spec.Name)), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ns)
            ? ns : long.MinValue;

    /// <summary>`restore --force`: a `manual` conflict policy becomes `keep-target` for this restore.</summary>
    public bool Force
    {
        get;
        set
        {
            field = value;
            if (value)
                StoppedReason = null;
        }
    }

    /// <summary>Set when the source stopped the restore at a diverged path (<c>restore.conflicts: manual</c>); cleared by `restore --force`.</summary>
    public string? StoppedReason { get; private set; }

    public ConflictPolicy Policy => Force && spec.Restore.Conflicts == ConflictPolicy.Manual ? ConflictPolicy.KeepTarget : spec.Restore.Conflicts;

    public IReadOnlyList<ConflictReport> Conflicts =>
        store.GetValue(ConflictsKey) is { } json ? JsonSerializer.Deserialize<List<ConflictReport>>(json) ?? [] : [];

    public void ResetConflicts() => store.SetValue(ConflictsKey, "[]");

    private void AddConflict(ConflictReport r)
    {
        lock (_lock)
            store.SetValue(ConflictsKey, JsonSerializer.Serialize(Conflicts.Append(r).ToList()));
        events.Record(EventCode.RestoreConflict, Severity.Warning, "restore", spec.Name, r.ParkedAs is null
            ? $"conflict: {r.Path} diverged; the target's version won, the source's was discarded"
            : $"conflict: {r.Path} diverged; the target's version won, the source's is kept on the source as {r.ParkedAs}",
            new { path = r.Path, parkedAs = r.ParkedAs, root = r.Root });
    }

    /// <summary>The reversed job for one root: this target's copy is the "source", the source's path the "target".</summary>
    private JobDefinition Reverse(int root)
    {
        var def = JobManager.ToDefinition(spec);
        var r = def.Roots[root];
        var here = r.TargetPrefix.IsRoot ? spec.Target.Path : Path.Combine(spec.Target.Path, r.TargetPrefix.ToString());
        var mode = spec.Restore.Mode == RestoreMode.Checksum ? MirrorMode.Checksum : MirrorMode.Different;
        // Files the target never had (excluded on the source) are left out by the source's manifest,
        // so deleting orphans only removes what clients deleted here during the fail-over.
        return new JobDefinition(spec.Name, [new SourceRoot(here, RelPath.Root)],
            (p, _) => Restore.ConflictParker.IsParked(p) || FsTree.IsReserved(p), "", sourceId, r.Path, mode, DeleteOrphans: true);
    }

    /// <summary>A passive source polled for <paramref name="root"/>: turn the connection into that root's restore link and run it until it ends.</summary>
    public async Task AcceptAsync(PeerConnection conn, int root, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct, _stop.Token);
        if (StoppedReason is { } stopped)
        {
            await conn.SendAsync(ControlVerbs.PassivePoll.Reply(new PassivePollReply(PassivePollReply.Wait, stopped)), cts.Token);
            return;
        }
        await conn.SendAsync(ControlVerbs.PassivePoll.Reply(new PassivePollReply(PassivePollReply.Restore, null, JobEnum<ConflictPolicy>.Name(Policy))), cts.Token);
        using var first = await conn.ReceiveAsync(cts.Token);
        if (first?.Message is not JobOpened opened)
            return;
        var session = SourceSession.Attach(conn, opened, cts.Token);
        session.Control = c =>
        {
            if (ControlVerbs.RestoreConflict.Is(c))
                AddConflict(ControlVerbs.RestoreConflict.Read(c));
        };
        var link = new RestoreLink(root, Reverse(root), session, events, time, ChangedSinceFailoverNs);
        RestoreLink? old;
        Task run;
        lock (_lock)
        {
            old = _links[root];
            _links[root] = link;
            run = link.RunAsync(syncInterval, cts.Token);
            _running.Add(run);
        }
        if (old is not null)
            await old.DisposeAsync();
        events.Record(EventCode.RestoreConnected, Severity.Info, "restore", spec.Name, $"the source connected for the restore of {Reverse(root).TargetPath}");
        await run;
        if (link.Error is { } error && session.Faulted is { IsFaulted: true } f && f.Exception?.InnerException is TargetException { Code: ErrorCode.Conflict })
            StoppedReason = error;
        await link.DisposeAsync();
    }

    private RestoreLink[] Connected()
    {
        lock (_lock)
            return [.. _links.Where(l => l is { Error: null, Session.Faulted.IsCompleted: false }).Select(l => l!)];
    }

    /// <summary>Null when fail-back may go ahead; otherwise what the operator must do first.</summary>
    public string? RefusalForFailback()
    {
        var connected = Connected();
        if (connected.Length < _links.Length)
            return $"the source agent is not connected to this target (it connects by itself every few seconds while passive): start the source agent, wait until 'understudy status {spec.Name}' on this agent shows the restore in sync, then run 'understudy failback {spec.Name}' again";
        if (connected.Any(l => !l.Synced))
            return $"the restore is not finished ({View().FilesDone} of {View().FilesTotal} files): wait until 'understudy status {spec.Name}' shows the restore in sync, then run 'understudy failback {spec.Name}' again";
        return null;
    }

    private RestoreLink Control => Connected().FirstOrDefault(l => l.Root == 0)
        ?? throw new PeerUnavailableException("the source agent is not connected (root 0)");

    public async Task<IReadOnlyList<string>> HeldBySourceAsync(CancellationToken ct)
    {
        var reply = await Control.ControlAsync(ControlVerbs.IdentityStatus, new IdentityStatusRequest(), ct);
        return reply.Held;
    }

    public async Task<ReclaimReply> ReclaimAsync(CancellationToken ct)
    {
        return await Control.ControlAsync(ControlVerbs.Reclaim, new ReclaimRequest(), ct);
    }

    /// <summary>Waits (up to <paramref name="linkWait"/>) for every root's link, then for a round on each that started after this call.</summary>
    public async Task SyncAllAsync(TimeSpan linkWait, CancellationToken ct)
    {
        var deadline = time.GetUtcNow() + linkWait;
        while (Connected().Length < _links.Length)
        {
            if (time.GetUtcNow() > deadline)
                throw new PeerUnavailableException("the source agent did not connect for the final sync");
            await Task.Delay(TimeSpan.FromMilliseconds(200), time, ct);
        }
        await Task.WhenAll(Connected().Select(l => l.RequestRoundAsync())).WaitAsync(ct);
    }

    /// <summary>Tells the source fail-back is done (best effort: if this is lost, its next poll is answered "resume").</summary>
    public async Task ResumeAsync(CancellationToken ct)
    {
        try
        {
            await Control.ControlAsync(ControlVerbs.Resume, new ResumeRequest(), ct).WaitAsync(TimeSpan.FromSeconds(10), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
        }
    }

    public RestoreView View()
    {
        RestoreLink?[] links;
        lock (_lock)
            links = [.. _links];
        var live = Connected().ToList();
        int inSync = live.Count(l => l.Synced);
        var p = links.Where(l => l?.Progress is not null).Select(l => l!.Progress!).ToList();
        string phase = StoppedReason is not null ? "stopped" : live.Count < links.Length ? "waiting for the source"
            : inSync == links.Length ? "in sync" : "mirroring";
        return new RestoreView(phase, live.Count == links.Length, inSync, links.Length,
            p.Sum(x => x.FilesDone), p.Sum(x => x.FilesTotal), p.Sum(x => x.BytesDone), p.Sum(x => x.BytesTotal),
            live.Select(l => l.LastSyncAt).Where(t => t is not null).Min()?.ToString("O"),
            StoppedReason ?? links.FirstOrDefault(l => l?.Error is not null)?.Error, Conflicts);
    }

    /// <summary>The fail-over's reason while restoring: where the restore is now, not where it was when it was asked for.</summary>
    public string Describe()
    {
        var v = View();
        return v.Phase switch
        {
            "stopped" => $"restore stopped: {v.Error}",
            "in sync" => $"restore in sync: changes made here keep following; 'understudy failback {spec.Name}' hands the job back",
            "mirroring" => $"restoring: {v.FilesDone} of {v.FilesTotal} files sent to the source",
            _ => "restore requested; waiting for the source agent to connect",
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        Task[] running;
        lock (_lock)
            running = [.. _running];
        await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        foreach (var l in _links)
        {
            if (l is not null)
                await l.DisposeAsync();
        }
        _stop.Dispose();
    }
}
