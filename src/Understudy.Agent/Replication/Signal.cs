namespace Understudy.Agent.Replication;

/// <summary>
/// A level-free wake-up: take <see cref="Next"/> before checking conditions, then await it;
/// any <see cref="Pulse"/> after it was taken completes it, so no wake-up is ever missed.
/// </summary>
internal sealed class Signal
{
    private TaskCompletionSource _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Next => Volatile.Read(ref _tcs).Task;

    public void Pulse() =>
        Interlocked.Exchange(ref _tcs, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
