using System.Globalization;
using System.Net;
using Understudy.Testing.Lab;

namespace Understudy.LabTests.Failover;

/// <summary>One change of a partition schedule: at <see cref="At"/> after its start, <see cref="Fault"/> toggles.</summary>
internal sealed record PartitionStep(TimeSpan At, PartitionFault Fault)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"+{At.TotalSeconds:0.00}s {Fault}");
}

/// <summary>What a step toggles: a cut between two hosts (both ways), a host's whole link, or the etcd process.</summary>
internal enum PartitionFault
{
    SourceTarget,
    SourceWitness,
    TargetWitness,
    SourceLink,
    TargetLink,
    Etcd,
}

/// <summary>
/// A seeded random partition schedule for the witness (issue 22, test d): every 0.2-2 s one fault toggles — a cut
/// between source, target and etcd (blackhole routes on both hosts, so the client still reaches both agents), a
/// host's whole link (its bridge port down: nobody reaches it, the client neither), or etcd killed (SIGKILL) and
/// started again. The gaps are long enough for a fault to outlast the monitor's detection (0.9 s in the lab) and the
/// lease (3 s) now and then, so some schedules end in a take-over. The same seed gives the same schedule; <see cref="HealAsync"/> undoes whatever is still in force.
/// </summary>
internal sealed class PartitionSchedule(FailoverLab f, EtcdWitness etcd, int seed, TimeSpan length)
{
    private readonly HashSet<PartitionFault> _active = [];

    public int Seed => seed;

    public IReadOnlyList<PartitionStep> Steps { get; } = Make(seed, length);

    public static IReadOnlyList<PartitionStep> Make(int seed, TimeSpan length)
    {
        var rng = new Random(seed);
        var faults = Enum.GetValues<PartitionFault>();
        var steps = new List<PartitionStep>();
        var at = TimeSpan.Zero;
        while (true)
        {
            at += TimeSpan.FromMilliseconds(rng.Next(200, 2000));
            if (at >= length)
                return steps;
            steps.Add(new PartitionStep(at, faults[rng.Next(faults.Length)]));
        }
    }

    /// <summary>Runs the steps at their times (from now); <paramref name="log"/> hears each as it is applied.</summary>
    public async Task RunAsync(Action<string> log, CancellationToken ct = default)
    {
        var start = DateTime.UtcNow;
        foreach (var step in Steps)
        {
            var wait = start + step.At - DateTime.UtcNow;
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait, ct); // the schedule's own clock: a step is due at its time, not on a condition
            var on = _active.Add(step.Fault);
            if (!on)
                _active.Remove(step.Fault);
            await ToggleAsync(step.Fault, on, ct);
            log(string.Create(CultureInfo.InvariantCulture, $"  {step} {(on ? "on" : "off")} (at +{(DateTime.UtcNow - start).TotalSeconds:0.00}s)"));
        }
    }

    /// <summary>Everything back: etcd running, links up, no cut.</summary>
    public async Task HealAsync(CancellationToken ct = default)
    {
        foreach (var fault in _active.ToList())
            await ToggleAsync(fault, on: false, ct);
        _active.Clear();
    }

    private async Task ToggleAsync(PartitionFault fault, bool on, CancellationToken ct)
    {
        var lab = f.Lab;
        switch (fault)
        {
            case PartitionFault.SourceTarget:
                // The target probes the service address too: cut it from there as well (its own, once it holds it, is local and stays).
                await RouteAsync(lab.Source, lab.Target.Address, on, ct);
                await RouteAsync(lab.Target, lab.Source.Address, on, ct);
                await RouteAsync(lab.Target, f.Vip, on, ct);
                break;
            case PartitionFault.SourceWitness:
                await RouteAsync(lab.Source, etcd.Address, on, ct);
                await RouteAsync(etcd.Host, lab.Source.Address, on, ct);
                break;
            case PartitionFault.TargetWitness:
                await RouteAsync(lab.Target, etcd.Address, on, ct);
                await RouteAsync(etcd.Host, lab.Target.Address, on, ct);
                break;
            case PartitionFault.SourceLink:
                await (on ? lab.CutLinkAsync(lab.Source, ct) : lab.RestoreLinkAsync(lab.Source, ct));
                break;
            case PartitionFault.TargetLink:
                await (on ? lab.CutLinkAsync(lab.Target, ct) : lab.RestoreLinkAsync(lab.Target, ct));
                break;
            case PartitionFault.Etcd:
                if (on)
                    etcd.Process.Kill();
                else
                    await etcd.StartAgainAsync(ct);
                break;
        }
    }

    private Task RouteAsync(LabHost host, IPAddress to, bool on, CancellationToken ct) =>
        f.Lab.ExecOkAsync(host, ["ip", "route", on ? "replace" : "del", "blackhole", $"{to}/32"], ct);
}
