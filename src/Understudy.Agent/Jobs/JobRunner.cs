using Understudy.Core.Jobs;
using System.Threading.Channels;
using Understudy.Agent.Events;
using Understudy.Agent.Failover;
using Understudy.Agent.Hosting;
using Understudy.Agent.Peer;
using Understudy.Agent.Source;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Jobs;

/// <summary>
/// Runs one source job: a single owned loop that executes commands (mirror, verify) one at a
/// time over the job's session, reconnecting with back-off while the target is unreachable and
/// pausing (then resuming by itself) while the target's disk is full.
/// </summary>
internal sealed class JobRunner : IAsyncDisposable
{
    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>();
    private readonly CancellationTokenSource _stop = new();
    private readonly AgentContext _ctx;
    private readonly Task _loop;
    private SourceSession? _session;

    private abstract record Command;

    private sealed record MirrorCommand(MirrorMode Mode) : Command;

    private sealed record VerifyCommand(bool Checksum, bool Repair, TaskCompletionSource<VerifyReport> Done) : Command;

    public JobRunner(JobDefinition job, AgentContext ctx, bool mirrored)
    {
        Job = job;
        _ctx = ctx;
        Mirrored = mirrored;
        State = mirrored ? JobStates.InSync : JobStates.Connecting;
        _loop = RunAsync(_stop.Token);
    }

    public JobDefinition Job { get; }

    public string State { get; private set; }

    public string? Reason { get; private set; }

    public MirrorProgress? Progress { get; private set; }

    public bool Mirrored { get; private set; }

    public DateTimeOffset? LastMirrorAt { get; private set; }

    public VerifyReport? LastVerify { get; private set; }

    /// <summary>Raised when the mirror completes or fails, so `wait` and tests can wait on a condition.</summary>
    public event Action<JobRunner>? Changed;

    public void RequestMirror(MirrorMode mode) => _commands.Writer.TryWrite(new MirrorCommand(mode));

    public Task<VerifyReport> VerifyAsync(bool checksum, bool repair)
    {
        var tcs = new TaskCompletionSource<VerifyReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        _commands.Writer.TryWrite(new VerifyCommand(checksum, repair, tcs));
        return tcs.Task;
    }

    private void SetState(string state, string? reason)
    {
        State = state;
        Reason = reason;
        Changed?.Invoke(this);
    }

    private async Task RunAsync(CancellationToken ct)
    {
        try
        {
            while (await _commands.Reader.WaitToReadAsync(ct))
            {
                if (!_commands.Reader.TryRead(out var cmd))
                    continue;
                await ExecuteWithRetryAsync(cmd, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task ExecuteWithRetryAsync(Command cmd, CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(500);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var session = await EnsureSessionAsync(ct);
                await ExecuteAsync(cmd, session, ct);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                await DropSessionAsync();
                if (PassiveGuard.Observe(e, _ctx, Job.Name))
                {
                    SetState(PassiveGuard.State, e.Message);
                    if (cmd is VerifyCommand pv)
                        pv.Done.TrySetException(e);
                    return;
                }
                bool transient = e switch
                {
                    PeerException p => p.IsTransient,
                    TargetException t => t.IsTransient,
                    IOException or System.Net.Sockets.SocketException => true,
                    _ => false,
                };
                if (e is TargetException { Code: ErrorCode.NoSpace })
                {
                    if (State != JobStates.Paused)
                        _ctx.Events.Record(Severity.Error, "mirror", Job.Name, $"paused: {e.Message}; resumes by itself when space returns");
                    SetState(JobStates.Paused, $"target disk full: {e.Message}");
                }
                else if (transient)
                {
                    if (State != JobStates.Disconnected)
                        _ctx.Events.Record(Severity.Warning, "link", Job.Name, $"target unreachable, retrying: {e.Message}");
                    SetState(JobStates.Disconnected, $"retrying: {e.Message}");
                }
                else
                {
                    _ctx.Events.Record(Severity.Error, "job", Job.Name, e.Message);
                    SetState(JobStates.Error, e.Message);
                    if (cmd is VerifyCommand v)
                        v.Done.TrySetException(e);
                    return;
                }
                await Task.Delay(delay, _ctx.Time, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
        if (cmd is VerifyCommand vc)
            vc.Done.TrySetCanceled(ct);
    }

    private async Task<SourceSession> EnsureSessionAsync(CancellationToken ct)
    {
        if (_session is { Faulted.IsCompleted: false })
            return _session;
        await DropSessionAsync();
        PassiveGuard.ThrowIfPassive(_ctx, Job.Name);
        _session = await SourceSession.OpenAsync(Job, _ctx.Identity, _ctx.AgentName, ct);
        _session.Connection.Compression = Compression.None;
        return _session;
    }

    private async Task DropSessionAsync()
    {
        if (_session is not null)
        {
            await _session.DisposeAsync();
            _session = null;
        }
    }

    private async Task ExecuteAsync(Command cmd, SourceSession session, CancellationToken ct)
    {
        switch (cmd)
        {
            case MirrorCommand m:
                await MirrorAsync(m.Mode, session, ct);
                break;
            case VerifyCommand v:
                SetState(JobStates.Verifying, null);
                var report = await VerifyEngine.RunAsync(Job, session, v.Checksum, _ctx.Time, ct);
                if (v.Repair && !report.Identical)
                {
                    _ctx.Events.Record(Severity.Info, "verify", Job.Name, $"repairing {report.Differences.Count} differences");
                    await MirrorAsync(v.Checksum ? MirrorMode.Checksum : MirrorMode.Different, session, ct);
                    report = await VerifyEngine.RunAsync(Job, session, v.Checksum, _ctx.Time, ct) with { Repaired = true };
                }
                LastVerify = report;
                _ctx.Events.Record(report.Identical ? Severity.Info : Severity.Warning, "verify", Job.Name,
                    report.Identical ? $"verified: identical ({report.EntriesChecked} entries{(report.Checksum ? ", by content" : "")})"
                        : $"verify found {report.Differences.Count} differences", new { count = report.Differences.Count });
                SetState(Mirrored ? JobStates.InSync : JobStates.Connecting, null);
                v.Done.TrySetResult(report);
                break;
        }
    }

    private async Task MirrorAsync(MirrorMode mode, SourceSession session, CancellationToken ct)
    {
        var progress = new MirrorProgress(mode, _ctx.Time);
        Progress = progress;
        SetState(JobStates.Mirroring, $"{mode.ToString().ToLowerInvariant()} mirror");
        _ctx.Events.Record(Severity.Info, "mirror", Job.Name, $"{mode.ToString().ToLowerInvariant()} mirror started");
        await new MirrorEngine(Job, session, _ctx.Events, progress).RunAsync(ct);
        progress.FinishedAt = _ctx.Time.GetUtcNow();
        progress.Phase = "complete";
        Mirrored = true;
        LastMirrorAt = progress.FinishedAt;
        _ctx.Events.Record(Severity.Info, "mirror", Job.Name,
            $"mirror complete: {progress.FilesDone} files, {progress.BytesDone} bytes ({progress.BytesSent} sent), {progress.Skipped} skipped",
            new { files = progress.FilesDone, bytes = progress.BytesDone, sent = progress.BytesSent, skipped = progress.Skipped });
        _ctx.Store.SaveJobRuntime(Job.Name, System.Text.Json.JsonSerializer.Serialize(new { mirrored = true, lastMirrorAt = LastMirrorAt }));
        SetState(JobStates.InSync, null);
    }

    public async ValueTask DisposeAsync()
    {
        _commands.Writer.TryComplete();
        await _stop.CancelAsync();
        await _loop;
        await DropSessionAsync();
        _stop.Dispose();
    }
}
