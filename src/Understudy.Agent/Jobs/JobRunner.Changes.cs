namespace Understudy.Agent.Jobs;

/// <summary>
/// A count of the job's state changes, so that a client can wait for the next one instead of polling
/// (`GET /api/v1/jobs/{name}/status?after=N`, what `understudy mirror --wait` and `wait` use). A client
/// that read <see cref="Changes"/> before a status misses no change: any change after that read makes
/// the count differ, and waiting for a count other than the one it has returns at once.
/// </summary>
internal sealed partial class JobRunner
{
    private long _changes;

    /// <summary>How many times <see cref="State"/> or its reason was set; read it before taking a status.</summary>
    public long Changes => Interlocked.Read(ref _changes);

    /// <summary>Completes when <see cref="Changes"/> is no longer <paramref name="seen"/>, or after <paramref name="timeout"/>
    /// (without an error: the caller answers with the status as it is then).</summary>
    public async Task WaitForChangeAsync(long seen, TimeSpan timeout, CancellationToken ct)
    {
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(JobRunner _) => changed.TrySetResult();
        Changed += OnChanged;
        try
        {
            if (Changes != seen)
                return;
            await changed.Task.WaitAsync(timeout, _ctx.Time, ct);
        }
        catch (TimeoutException)
        {
        }
        finally
        {
            Changed -= OnChanged;
        }
    }
}
