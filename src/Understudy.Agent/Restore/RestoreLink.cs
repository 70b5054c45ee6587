using Understudy.Agent.Events;
using Understudy.Agent.Replication;
using Understudy.Agent.Source;
using Understudy.Core.Jobs;
using Understudy.Core.Protocol;
using Understudy.Core.Protocol.Control;

namespace Understudy.Agent.Restore;

/// <summary>
/// The target's side of one restore link (one source root): the reversed job session. It runs
/// rounds of a difference (or checksum) mirror of this target's replica back to the source's path
/// with the ordinary <see cref="MirrorEngine"/> — the first brings the source up to date, each later
/// one carries what clients changed here since — until fail-back closes it. A round starts when
/// asked (<see cref="RequestRoundAsync"/>) or every <see cref="Common.AgentSettings.RestoreSync"/>.
/// Control requests share the link with rounds, never at the same time (<see cref="_gate"/>).
/// Size and mtime alone do not show every change clients make (an xattr set, a rewrite that puts the old mtime
/// back), so each round also takes every entry whose ctime is at or after <paramref name="changedSinceNs"/> (the
/// fail-over, for the first round of a link) or, later, the start of the previous round, less <see cref="Margin"/>,
/// as changed (<see cref="MirrorEngine.ChangedSinceNs"/>): no one can set a ctime back.
/// </summary>
internal sealed class RestoreLink(int root, JobDefinition reverse, SourceSession session, EventLog events, TimeProvider time, long changedSinceNs) : IAsyncDisposable
{
    /// <summary>The kernel stamps ctimes with a coarse clock, a tick behind the one a round's start is read from.</summary>
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(1);

    private long _changedSinceNs = changedSinceNs;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Signal _wake = new();
    private readonly Lock _lock = new();
    private readonly List<(long MinRound, TaskCompletionSource Done)> _waiters = [];
    private long _started;
    private long _completed;

    public int Root { get; } = root;

    public SourceSession Session { get; } = session;

    /// <summary>The latest round's counters (status shows them while restoring).</summary>
    public MirrorProgress? Progress { get; private set; }

    public DateTimeOffset? LastSyncAt { get; private set; }

    /// <summary>True once a round has completed on this link: the source holds everything that was here when it started.</summary>
    public bool Synced => Interlocked.Read(ref _completed) > 0;

    public string? Error { get; private set; }

    public async Task RunAsync(TimeSpan interval, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var wake = _wake.Next;
                await _gate.WaitAsync(ct);
                long round;
                try
                {
                    round = Interlocked.Increment(ref _started);
                    var progress = new MirrorProgress(reverse.MirrorMode, time);
                    Progress = progress;
                    long roundStartNs = (time.GetUtcNow() - Margin - DateTimeOffset.UnixEpoch).Ticks * 100;
                    await new MirrorEngine(reverse, Session, events, progress) { ChangedSinceNs = _changedSinceNs }.RunAsync(ct);
                    _changedSinceNs = roundStartNs;
                    progress.FinishedAt = time.GetUtcNow();
                    progress.Phase = "complete";
                    LastSyncAt = progress.FinishedAt;
                    if (round == 1)
                        events.Record(EventCode.RestoreInSync, Severity.Info, "restore", reverse.Name,
                            $"restore of {reverse.Roots[0].Path} → source {reverse.TargetPath} in sync: {progress.FilesDone} files, {progress.BytesDone} bytes sent; changes here keep following until fail-back",
                            new { files = progress.FilesDone, bytes = progress.BytesDone });
                }
                finally
                {
                    _gate.Release();
                }
                Interlocked.Exchange(ref _completed, round);
                Complete(round, null);
                await Task.WhenAny(wake, Task.Delay(interval, time, ct));
                ct.ThrowIfCancellationRequested();
            }
        }
        catch (Exception e)
        {
            Error = e is OperationCanceledException ? "the restore link closed" : e.Message;
            Complete(long.MaxValue, e is OperationCanceledException ? new PeerUnavailableException(Error) : e);
            if (e is not OperationCanceledException)
                events.Record(e is TargetException { Code: ErrorCode.Conflict } ? EventCode.RestoreStoppedByConflict : EventCode.RestoreLinkBroken, e is TargetException { Code: ErrorCode.Conflict } ? Severity.Error : Severity.Warning, "restore", reverse.Name,
                    $"restore link to the source broke: {e.Message}");
        }
    }

    private void Complete(long round, Exception? error)
    {
        lock (_lock)
        {
            _waiters.RemoveAll(w =>
            {
                if (w.MinRound > round)
                    return false;
                if (error is null)
                    w.Done.TrySetResult();
                else
                    w.Done.TrySetException(error);
                return true;
            });
        }
    }

    /// <summary>Completes when a round that started after this call has finished (everything changed here before the call is on the source).</summary>
    public Task RequestRoundAsync()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (Error is not null)
                return Task.FromException(new PeerUnavailableException(Error));
            _waiters.Add((Interlocked.Read(ref _started) + 1, tcs));
        }
        _wake.Pulse();
        return tcs.Task;
    }

    public async Task<TReply> ControlAsync<TRequest, TReply>(ControlVerb<TRequest, TReply> verb, TRequest request, CancellationToken ct)
        where TRequest : class
        where TReply : class
    {
        await _gate.WaitAsync(ct);
        try
        {
            return await Session.ControlAsync(verb, request, ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    private int _disposed;

    /// <summary>Idempotent: both the link's own end and a replacing link dispose it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            await Session.DisposeAsync();
    }
}

/// <summary>The source is not connected to this target (it polls while passive; its agent may be down).</summary>
internal sealed class PeerUnavailableException(string message) : Exception(message);
