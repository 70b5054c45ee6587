using Understudy.Agent.State;

namespace Understudy.Agent.Failover;

/// <summary>
/// One engine's state-store writes that the store refused (a full or failing data directory), held in memory in order
/// and retried every monitor round. A fail-over decided on a host whose data directory is full (the replica often
/// shares its file system) is still the right decision: the engine goes on from memory and stores what it did once it
/// can, rather than dying in the middle. What is held is lost if the agent stops before the store takes it: then the
/// job restarts from the last state that was stored, as after a crash at that instant.
/// Once anything is held, every later write queues behind it, so the store sees them in the order they were made;
/// a later write under the same key replaces the held one (only the last fail-over state matters).
/// </summary>
internal sealed class HeldWrites
{
    private abstract record Op(string Key, Action Write);

    private sealed record Other(string Key, Action Write) : Op(Key, Write);

    private sealed record ClearSteps(string Phase, Action Write) : Op($"steps/{Phase}", Write);

    private sealed record SaveStep(string Phase, StoredStep Step, Action Write) : Op($"steps/{Phase}/{Step.Index}", Write);

    private sealed record SaveSteps(string Phase, IReadOnlyList<StoredStep> Steps, Action Write)
        : Op($"steps/{Phase}/{string.Join(',', Steps.Select(s => s.Index))}", Write);

    private readonly Lock _lock = new();
    private readonly List<Op> _held = [];

    /// <summary>Called with the store's error when a write is first held (the list was empty).</summary>
    public Action<Exception>? Holding { get; set; }

    /// <summary>Called with how many writes were stored when the list empties again.</summary>
    public Action<int>? Drained { get; set; }

    public bool Any
    {
        get
        {
            lock (_lock)
                return _held.Count > 0;
        }
    }

    public void Write(string key, Action write) => Run(new Other(key, write));

    public void WriteClearSteps(string phase, Action write) => Run(new ClearSteps(phase, write));

    public void WriteStep(string phase, StoredStep step, Action write) => Run(new SaveStep(phase, step, write));

    /// <summary>Several steps' rows written at once (one commit); held, they stay one write, laid over in order.</summary>
    public void WriteSteps(string phase, IReadOnlyList<StoredStep> steps, Action write) => Run(new SaveSteps(phase, steps, write));

    private void Run(Op op)
    {
        Exception? error = null;
        lock (_lock)
        {
            if (_held.Count == 0)
            {
                try
                {
                    op.Write();
                    return;
                }
                catch (Exception e)
                {
                    error = e;
                }
            }
            _held.RemoveAll(h => h.Key == op.Key);
            _held.Add(op);
        }
        if (error is not null)
            Holding?.Invoke(error);
    }

    /// <summary>Stores what is held, in order, up to the first write the store still refuses.</summary>
    public void Flush()
    {
        int done = 0;
        lock (_lock)
        {
            if (_held.Count == 0)
                return;
            while (_held.Count > 0)
            {
                try
                {
                    _held[0].Write();
                }
                catch (Exception)
                {
                    return;
                }
                _held.RemoveAt(0);
                done++;
            }
        }
        Drained?.Invoke(done);
    }

    /// <summary>A phase's step journal as stored, with the held writes of that phase laid over it.</summary>
    public IReadOnlyList<StoredStep> Overlay(string phase, IReadOnlyList<StoredStep> stored)
    {
        lock (_lock)
        {
            if (_held.Count == 0)
                return stored;
            var steps = stored.ToDictionary(s => s.Index);
            foreach (var op in _held)
            {
                if (op is ClearSteps c && c.Phase == phase)
                    steps.Clear();
                else if (op is SaveStep s && s.Phase == phase)
                    steps[s.Step.Index] = s.Step;
                else if (op is SaveSteps many && many.Phase == phase)
                {
                    foreach (var step in many.Steps)
                        steps[step.Index] = step;
                }
            }
            return [.. steps.Values.OrderBy(s => s.Index)];
        }
    }
}
