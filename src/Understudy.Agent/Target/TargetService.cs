using System.Collections.Concurrent;
using Understudy.Agent.Events;
using Understudy.Agent.Peer;
using Understudy.Agent.State;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;
using Understudy.Core.Protocol.Control;

namespace Understudy.Agent.Target;

internal sealed record HostedJobInfo(string SourceId, string Job, string TargetPath, string SourceName)
{
    public string Key => SourceId + "/" + Job;
}

/// <summary>
/// This agent as a target: accepts job registrations from trusted sources (many-to-one, each
/// into its own target path; overlaps refused) and runs one session per job at a time — a new
/// connection for a job takes over from a stale one (a source reconnecting after a cut).
/// </summary>
/// <param name="failover">What it asks of fail-over (ITargetFailoverHooks.cs, implemented by FailoverManager).</param>
/// <param name="passivePoll">A passive source's poll (Restore/PassivePollHandler.cs): the connection may turn into a restore link.</param>
internal sealed partial class TargetService(StateStore store, EventLog events, string dataDir, ITargetFailoverHooks failover,
    Func<PeerConnection, ControlRequest, CancellationToken, Task> passivePoll)
{
    private readonly ConcurrentDictionary<string, ActiveSession> _active = new();
    private readonly Lock _registerLock = new();

    private sealed record ActiveSession(CancellationTokenSource Cancel, Task Done);

    public IReadOnlyList<HostedJob> List() => store.ListHosted();

    public void RecordAppliedSeq(HostedJobInfo job, long seq) => store.SaveHostedSeq(job.SourceId, job.Job, seq);

    public bool IsActive(string sourceId, string job) => _active.ContainsKey(sourceId + "/" + job);

    /// <summary>When each job's session last ended (removed while one is open): the moment the source was lost, as
    /// this agent saw it, from which a fail-over counts what the replica lacks (issue 17).</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _linkEnded = new();

    /// <summary>When the job's session last ended; null while one is open, or when none ended since this agent started.</summary>
    public DateTimeOffset? LinkEndedAt(string sourceId, string job) =>
        !IsActive(sourceId, job) && _linkEnded.TryGetValue(sourceId + "/" + job, out var at) ? at : null;

    public ITargetFailoverHooks Failover => failover;

    private readonly ConcurrentDictionary<string, bool> _stopping = new();

    /// <summary>True once a fail-over stopped the job's replication: its session publishes what it received and ends.</summary>
    public bool IsStoppingForFailover(string key) => _stopping.ContainsKey(key);

    /// <summary>Ends the job's session for a fail-over (the take-over's first step, through Failover/TargetReplicationControl.cs); returns the last durable sequence.</summary>
    public async Task<long> StopForFailoverAsync(string sourceId, string job, CancellationToken ct)
    {
        var key = sourceId + "/" + job;
        _stopping[key] = true;
        try
        {
            if (_active.TryGetValue(key, out var session))
            {
                await session.Cancel.CancelAsync();
                await session.Done.WaitAsync(TimeSpan.FromSeconds(30), ct);
            }
        }
        finally
        {
            _stopping.TryRemove(key, out _);
        }
        // A write-order replica is brought to its last complete point before anything takes it over.
        if (store.ListHosted().FirstOrDefault(h => h.SourceId == sourceId && h.Job == job) is { } hosted)
            RecoverPoints(sourceId, job, hosted.TargetPath);
        return store.ListHosted().FirstOrDefault(h => h.SourceId == sourceId && h.Job == job)?.LastSeq ?? 0;
    }

    /// <summary>Entry point for every accepted peer connection; a revocation of its peer's trust ends it (TargetService.Revoke.cs).</summary>
    public Task HandleConnectionAsync(PeerConnection conn, CancellationToken ct) => RunRevocableAsync(conn, t => HandleAsync(conn, t), ct);

    private async Task HandleAsync(PeerConnection conn, CancellationToken ct)
    {
        using var first = await conn.ReceiveAsync(ct);
        if (first is null)
            return;
        if (first.Message is ControlRequest poll && ControlVerbs.PassivePoll.Is(poll))
        {
            await passivePoll(conn, poll, ct);
            return;
        }
        if (first.Message is not OpenJob open)
            throw new ProtocolException($"expected OpenJob, got {first.Message.Type}");
        var job = new HostedJobInfo(conn.PeerId, open.JobName, open.TargetPath, open.SourceName);
        conn.Job = open.JobName;
        if (failover.RefusalFor(job.SourceId, job.Job) is { } passive)
        {
            // Split-brain guard: the source learns here that its job was failed over and stays passive.
            events.Record(EventCode.PassiveRefused, Severity.Warning, "failover", open.JobName, $"refused {open.SourceName}: {passive}");
            await conn.SendAsync(new ErrorMessage(ErrorCode.Passive, passive), ct);
            return;
        }
        if (Register(job) is { } refusal)
        {
            RecordRefusal(job, conn.PeerId, refusal);
            await conn.SendAsync(new ErrorMessage(ErrorCode.Conflict, refusal.Message), ct);
            return;
        }
        await failover.OnRegisteredAsync(job.SourceId, job.SourceName, job.Job, open.JobJson);
        FsTree tree;
        try
        {
            // The real path, as checked; the directory actually opened is checked again just below
            // (a link planted after registration, or between that check and this open).
            tree = FsTree.Open(RealPaths.Resolve(job.TargetPath), create: true);
        }
        catch (PosixException e)
        {
            await conn.SendAsync(new ErrorMessage(e.IsNoSpace ? ErrorCode.NoSpace : ErrorCode.Io, $"cannot open target path {job.TargetPath}: {e.Message}"), ct);
            return;
        }
        using (tree)
        {
            if (OpenedTreeRefusal(job, tree) is { } late)
            {
                RecordRefusal(job, conn.PeerId, late);
                await conn.SendAsync(new ErrorMessage(ErrorCode.Conflict, late.Message), ct);
                return;
            }
            int stale = tree.RemoveStaleTemps();
            if (stale > 0)
                events.Record(EventCode.ApplyTempFilesRemoved, Severity.Info, "apply", job.Job, $"removed {stale} incomplete temporary files left by an interrupted transfer");
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var mine = new ActiveSession(cts, done.Task);
            while (true)
            {
                if (_active.TryAdd(job.Key, mine))
                    break;
                if (_active.TryGetValue(job.Key, out var old))
                {
                    await old.Cancel.CancelAsync();
                    await old.Done.WaitAsync(TimeSpan.FromSeconds(30), ct);
                    _active.TryRemove(new KeyValuePair<string, ActiveSession>(job.Key, old));
                }
            }
            try
            {
                long lastSeq = store.ListHosted().FirstOrDefault(h => h.SourceId == job.SourceId && h.Job == job.Job)?.LastSeq ?? 0;
                var held = OpenPoints(job, open.JobJson);
                await conn.SendAsync(new JobOpened(job.Job, (ulong)lastSeq, FsTree.IsRoot, held?.Point ?? -1,
                    held is null ? 0 : (held.TakenAt - DateTimeOffset.UnixEpoch).Ticks * 100), cts.Token);
                var policy = PrivilegePolicy.For(store.GetTrust(job.SourceId));
                await using var points = held is not null || IsWriteOrder(open.JobJson) ? new PointReceiver(this, job) : null;
                await new TargetSession(conn, job, this, events) { Points = points, Policy = policy }.RunAsync(tree, cts.Token);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested && !ct.IsCancellationRequested)
            {
            }
            finally
            {
                NoteLinkEnded(job);
                _active.TryRemove(new KeyValuePair<string, ActiveSession>(job.Key, mine));
                done.TrySetResult();
            }
        }
    }

    /// <summary>Why a job was refused, and the event that records it (outside its source's roots: a security event).</summary>
    private sealed record Refusal(string Message, EventCode Code = EventCode.JobRefused);

    private void RecordRefusal(HostedJobInfo job, string peerId, Refusal r) =>
        events.Record(r.Code, r.Code == EventCode.JobOutsideRoots ? Severity.Security : Severity.Warning, "job", job.Job,
            $"refused job '{job.Job}' from {job.SourceName} ({peerId[..12]}): {r.Message}");

    /// <summary>Records the registration, or says why not.</summary>
    private Refusal? Register(HostedJobInfo job)
    {
        var path = job.TargetPath;
        if (!Path.IsPathRooted(path) || path != Path.GetFullPath(path) || path.Length > 1 && path.EndsWith('/'))
            return new($"target path '{path}' must be an absolute, normalized path");
        if (path == "/")
            return new("the target path cannot be '/'");
        string real;
        try
        {
            real = RealPaths.Resolve(path);
        }
        catch (PosixException e)
        {
            return new($"cannot resolve target path {path}: {e.Message}");
        }
        if (DataDirRefusal(path, real) is { } refusal)
            return new(refusal);
        if (RootsRefusal(job, real) is { } outside)
            return new(outside, EventCode.JobOutsideRoots);
        lock (_registerLock)
        {
            foreach (var h in store.ListHosted())
            {
                if (h.SourceId == job.SourceId && h.Job == job.Job)
                    continue;
                if (Overlaps(h.TargetPath, path) || Overlaps(RealOrAsWritten(h.TargetPath), real))
                    return new($"target path {path} overlaps {h.TargetPath}, used by job '{h.Job}' from {h.SourceName}; choose a separate target path for each job");
            }
            var existing = store.ListHosted().FirstOrDefault(h => h.SourceId == job.SourceId && h.Job == job.Job);
            store.SaveHosted(job.SourceId, job.Job, path, job.SourceName);
            if (existing is null || existing.TargetPath != path)
                events.Record(EventCode.JobHosted, Severity.Info, "job", job.Job, $"now protecting job '{job.Job}' from {job.SourceName} into {path}");
        }
        return null;
    }

    public static bool Overlaps(string a, string b)
    {
        static string Norm(string p) => p.EndsWith('/') ? p : p + "/";
        var na = Norm(a);
        var nb = Norm(b);
        return na.StartsWith(nb, StringComparison.Ordinal) || nb.StartsWith(na, StringComparison.Ordinal);
    }
}
