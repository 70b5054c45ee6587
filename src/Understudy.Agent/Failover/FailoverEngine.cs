using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Agent.State;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Failover;

/// <summary>What an engine needs from the agent; one instance shared by all engines.</summary>
internal sealed record FailoverServices(StateStore Store, EventLog Events, TimeProvider Time, IdentityOptions Options,
    ICommandRunner Commands, IAddressProber Prober, IReplicationControl Replication, IDuplicateAddressProbe? DuplicateProbe = null,
    Common.LoopSupervisor? Loops = null)
{
    /// <summary>This agent's ID: the value a target writes into a witness key it takes.</summary>
    public string SelfId { get; init; } = "";

    /// <summary>The environment's knobs, read once at start (the restore's round interval).</summary>
    public Common.AgentSettings Settings { get; init; } = Common.AgentSettings.Default;
}

/// <summary>
/// One hosted job's fail-over on the target: the monitor loop (probe every interval, feed
/// <see cref="FailoverDecider"/>), the state machine persisted in the state store, and the take-over
/// run (<see cref="StepRunner"/>). All state changes happen under one lock; the monitor loop and a
/// running take-over are owned tasks awaited on dispose.
/// </summary>
internal sealed partial class FailoverEngine : IAsyncDisposable
{
    public const string Phase = "failover";

    private readonly FailoverServices _s;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly AddressWatch[] _watches;
    private Task _monitor = Task.CompletedTask;
    private Task<RunOutcome>? _takeover;

    public FailoverEngine(FailoverServices services, string sourceId, string sourceName, JobSpec spec, FailoverState state, string? reason, bool dismissed,
        State.StoredApproval? approval = null)
    {
        Approval = approval;
        _s = services;
        SourceId = sourceId;
        SourceName = sourceName;
        Spec = spec;
        Settings = spec.Failover ?? throw new ArgumentException($"job '{spec.Name}' has no fail-over section", nameof(spec));
        State = state;
        _reason = reason;
        Dismissed = dismissed;
        _watches = [.. Settings.Monitor.Addresses.Select(a => new AddressWatch(a))];
        _early = new SuspectProbing(services.DuplicateProbe ?? new ArpProbe(), services.Time,
            [.. Settings.Identity.Addresses.Where(a => !a.Force).Select(a => new InterfaceAddress(a.Address, a.Interface)).Where(a => !a.IsIPv6)],
            (code, severity, message, data) => _s.Events.Record(code, severity, "failover", Job, message, data));
        _held = new HeldWrites
        {
            Holding = e => _s.Events.Record(EventCode.FailoverStateHeld, Severity.Warning, "failover", Job,
                $"the fail-over state cannot be stored ({e.Message}): monitoring and fail-over go on from memory; it is stored when the data directory takes writes again "
                + "(an agent restart before then starts from the last state stored)"),
            Drained = n => _s.Events.Record(EventCode.FailoverStateStored, Severity.Info, "failover", Job, $"the fail-over state is stored again ({n} held writes)"),
        };
    }

    private readonly HeldWrites _held;

    /// <summary>Duplicate address detection while the source is suspect; the take-over's address steps read its verdict.</summary>
    private readonly SuspectProbing _early;

    /// <summary>The suspect phase's duplicate address detection (tests wait on its verdict).</summary>
    internal SuspectProbing EarlyDad => _early;

    public string SourceId { get; }

    public string SourceName { get; }

    public string Job => Spec.Name;

    public JobSpec Spec { get; }

    public FailoverSpec Settings { get; }

    public FailoverState State { get; private set; }

    private string? _reason;

    /// <summary>Why the job is in its state; while restoring, the restore's progress now (see <see cref="RestoringReason"/>).</summary>
    public string? Reason => State == FailoverState.Restoring ? RestoringReason() : _reason;

    public bool Dismissed { get; private set; }

    /// <summary>False once the monitor loop has ended while the engine lives (/metrics shows it).</summary>
    public bool MonitorRunning => !_monitor.IsCompleted;

    /// <summary>With a witness, false once its release loop has ended while the engine lives; null without one (no loop).</summary>
    public bool? WitnessReleaseRunning => Settings.Witness is null ? null : !_releases.IsCompleted;

    /// <summary>Raised after every state change (tests and status wait on it instead of sleeping).</summary>
    public event Action<FailoverEngine>? Changed;

    /// <summary>The last queue report from the source, set by the manager.</summary>
    public SourceQueueReport? LastSourceReport { get; set; }

    /// <summary>Starts monitoring; resumes a take-over that a restart interrupted.</summary>
    public void Start()
    {
        // Before the monitor's first round, which is the keeper's first pass (FailoverEngine.Identity.cs).
        BeginReassert();
        // Supervised (restarted after an exception that escapes a round, with an event); bare in unit tests.
        _monitor = _s.Loops?.Run("failover-monitor", Job, MonitorLoopAsync, _stop.Token) ?? MonitorLoopAsync(_stop.Token);
        StartReleases();
        if (State == FailoverState.Suspect)
            _early.Begin();
        if (State == FailoverState.Suspect)
        {
            lock (_lock)
                StageFor(State);
        }
        if (State == FailoverState.FailingOver && _reassertTo is null)
        {
            lock (_lock)
                _takeover = RunTakeoverAsync(force: false, _stop.Token);
        }
        ResumeFailback();
    }

    private async Task MonitorLoopAsync(CancellationToken ct)
    {
        var interval = Settings.Monitor.Interval;
        // A probe ends before the next one starts, so a slow reply counts as a miss, not as a late hit.
        var timeout = Settings.Monitor.EffectiveTimeout;
        using var timer = new PeriodicTimer(interval, _s.Time);
        string? lastFailure = null;
        try
        {
            do
            {
                try
                {
                    _held.Flush();
                    await KeepIdentityAsync(ct);
                    if (!State.IsMonitored())
                        continue;
                    // A script probe runs as root here, so not before this target's operator approved the plan that names
                    // it (any script of the scripts directory could be named, a take-over script too); until then it
                    // counts as answering: it cannot raise a fail-over alone.
                    var results = await Task.WhenAll(_watches.Select(w => w.Address.Method == MonitorMethod.Script && !Approved
                        ? Task.FromResult(true) : _s.Prober.ProbeAsync(w.Address, timeout, ct)));
                    Observe(results);
                    await ClaimIfWantedAsync(ct);
                    lastFailure = null;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One round's failure is not the monitor's end: a loop that died here left status frozen and the
                    // source unwatched for good. Said once per distinct failure, not every interval.
                    if (e.Message != lastFailure)
                        _s.Events.Record(EventCode.MonitorRoundFailed, Severity.Error, "monitor", Job, $"a monitor round failed ({e.GetType().Name}: {e.Message}); monitoring goes on");
                    lastFailure = e.Message;
                }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Feeds one round of probe results (one per watched address, in order) to the state machine.</summary>
    public void Observe(IReadOnlyList<bool> answered)
    {
        var now = _s.Time.GetUtcNow();
        lock (_lock)
        {
            if (!State.IsMonitored())
                return;
            for (int i = 0; i < _watches.Length; i++)
            {
                if (_watches[i].Record(answered[i], now, Settings.Monitor.Misses) is { } change)
                    _s.Events.Record(answered[i] ? EventCode.MonitorAddressUp : EventCode.MonitorAddressMissing, answered[i] ? Severity.Info : Severity.Warning, "monitor", Job, change,
                        new { address = _watches[i].Address.Address, misses = _watches[i].Misses });
            }
            var d = FailoverDecider.Decide(State, [.. _watches.Select(w => w.Misses)], DecisionSettings.From(Settings), Dismissed);
            Apply(d, force: false);
        }
    }

    private void Apply(Decision d, bool force)
    {
        if (d.Action == FailoverAction.FailOver && NotApprovedReason() is { } refused)
        {
            // The monitor would take over by itself (trigger automatic), but nobody here approved what it would run.
            _s.Events.Record(EventCode.FailoverNotApproved, Severity.Error, "failover", Job,
                $"fail-over not started ({d.Reason}): {refused}; the job is fail-over-pending, and 'understudy failover {Job}' runs it once approved");
            SetState(FailoverState.Pending, $"fail-over plan not approved; {d.Reason}", d.Dismissed);
            return;
        }
        if (d.Action == FailoverAction.FailOver && NeedsClaim(force))
            return; // the monitor loop asks the witness next (ClaimIfWantedAsync), outside the lock
        switch (d.Action)
        {
            case FailoverAction.None:
                if (d.Next == State && d.Dismissed == Dismissed)
                    return;
                break;
            case FailoverAction.Suspect:
                _s.Events.Record(EventCode.SourceSuspect, Severity.Warning, "failover", Job, $"source {SourceName} suspect: {d.Reason}");
                break;
            case FailoverAction.Recover:
                _s.Events.Record(EventCode.SourceRecovered, Severity.Info, "failover", Job, State == FailoverState.Pending || d.Dismissed
                    ? $"back to protecting: {d.Reason}" : $"source {SourceName} answers again: {d.Reason}");
                break;
            case FailoverAction.RaisePending:
                _s.Events.Record(EventCode.FailoverPending, Severity.Error, "failover", Job,
                    $"fail-over pending: source {SourceName} is gone ({d.Reason}); nothing changes until an operator runs "
                    + $"'understudy failover {Job}' (or 'understudy failover {Job} --dismiss')");
                break;
            case FailoverAction.FailOver:
                _s.Events.Record(EventCode.FailoverTriggered, Severity.Error, "failover", Job, $"fail-over triggered: {d.Reason}");
                break;
        }
        SetState(d.Next, d.Reason.Length > 0 ? d.Reason : null, d.Dismissed);
        if (d.Action == FailoverAction.FailOver)
        {
            _held.WriteClearSteps(Phase, () => _s.Store.ClearSteps(SourceId, Job, Phase));
            _takeover = RunTakeoverAsync(force, _stop.Token);
        }
    }

    private void SetState(FailoverState state, string? reason, bool dismissed)
    {
        State = state;
        _reason = reason;
        Dismissed = dismissed;
        // From the first miss to the take-over's end: not while pending (an operator may take hours), nor after.
        if (state is FailoverState.Suspect or FailoverState.FailingOver)
            _early.Begin();
        else
            _early.End();
        StageFor(state);
        _held.Write("state", () => _s.Store.SaveFailoverState(SourceId, Job, state.Name(), reason, dismissed));
        Changed?.Invoke(this);
    }
}
