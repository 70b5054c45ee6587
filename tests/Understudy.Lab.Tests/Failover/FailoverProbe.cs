using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing.Lab;

namespace Understudy.LabTests.Failover;

/// <summary>One watch of <see cref="FailoverStatus.Addresses"/>.</summary>
internal static class WatchNode
{
    public static string StateOf(this JsonNode watch) => watch["state"]!.GetValue<string>();

    public static int MissesOf(this JsonNode watch) => watch["misses"]!.GetValue<int>();
}

/// <summary>A hosted job's fail-over as `understudy status NAME --json` on the target shows it.</summary>
internal sealed record FailoverStatus(JsonNode Json)
{
    public string State => Json["state"]!.GetValue<string>();

    public bool Dismissed => Json["dismissed"]!.GetValue<bool>();

    public IReadOnlyList<JsonNode> Addresses => [.. Json["addresses"]!.AsArray().Select(a => a!)];

    public int MissesOf(string address) => Addresses.First(a => a["address"]!.GetValue<string>() == address)["misses"]!.GetValue<int>();

    public string StateOf(string address) => Addresses.First(a => a["address"]!.GetValue<string>() == address)["state"]!.GetValue<string>();

    /// <summary>The watch whose probe label (as events name it, e.g. "10.0.0.2 (smb share data)") contains <paramref name="probe"/>.</summary>
    public JsonNode Probe(string probe) => Addresses.First(a => a["probe"]!.GetValue<string>().Contains(probe, StringComparison.Ordinal));

    public bool IsProtectingAndUp => State == "protecting" && Addresses.All(a => a["state"]!.GetValue<string>() == "up");

    public override string ToString() => Json.ToJsonString();
}

/// <summary>One event of `understudy events --json`. Tests find an event by its <see cref="Code"/> (docs/events.md), not
/// by the English of its message; the message is read only for a detail nothing else carries (which step, which probe).</summary>
internal sealed record LabEvent(DateTimeOffset Time, string Severity, string Category, EventCode Code, string Message, JsonNode? Data)
{
    /// <summary>An event of <paramref name="code"/> and, when given, with <paramref name="detail"/> in its message.</summary>
    public bool Is(EventCode code, string? detail = null) => Code == code && (detail is null || Message.Contains(detail, StringComparison.Ordinal));

    /// <summary>The monitor's event for a watch that missed <paramref name="misses"/> probes in a row (any count when
    /// null): 1 is its first miss, the job's threshold its loss. The watch is named by its probe label (e.g.
    /// "10.0.0.2 (icmp)"), which only the message carries: two probes of one address share the data's address.</summary>
    public bool IsMiss(string label, int? misses = null) =>
        Code == EventCode.MonitorAddressMissing && Message.StartsWith(label + " ", StringComparison.Ordinal)
            && (misses is null || Data?["misses"]?.GetValue<int>() == misses);

    public override string ToString() => $"{Time:HH:mm:ss.fff} {Severity,-7} {Category,-8} {(int)Code} {Message}";
}

/// <summary>Reads fail-over status and the event log through the CLI, inside the agent's namespace.</summary>
internal static class FailoverProbe
{
    public static async Task<FailoverStatus> StatusAsync(LabAgent target, string job, CancellationToken ct = default) =>
        new(JsonNode.Parse((await target.CliOkAsync(["status", job, "--json"], ct)).Stdout)!);

    /// <summary>Polls the status until <paramref name="condition"/> holds; the last status is in the timeout's message.</summary>
    public static async Task<FailoverStatus> WaitAsync(LabAgent target, string job, Func<FailoverStatus, bool> condition, string what, TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var s = await StatusAsync(target, job, ct);
            if (condition(s))
                return s;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out after {timeout.TotalSeconds} s waiting for {what}; last status: {s}");
            await Task.Delay(100, ct); // pacing between CLI calls, each of which already takes a while
        }
    }

    public static Task<FailoverStatus> WaitStateAsync(LabAgent target, string job, string state, TimeSpan timeout, CancellationToken ct = default) =>
        WaitAsync(target, job, s => s.State == state, $"fail-over state {state}", timeout, ct);

    public static async Task<IReadOnlyList<LabEvent>> EventsAsync(LabAgent agent, string job, CancellationToken ct = default) =>
        Parse((await agent.CliOkAsync(["events", "--job", job, "--json", "--limit", "5000"], ct)).Stdout);

    /// <summary>The events of `understudy events --json` (one JSON object a line).</summary>
    public static IReadOnlyList<LabEvent> Parse(string stdout) =>
        [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(line =>
        {
            var e = JsonNode.Parse(line)!;
            var data = e["data"]?.GetValue<string>();
            return new LabEvent(DateTimeOffset.Parse(e["time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture),
                e["severity"]!.GetValue<string>(), e["category"]!.GetValue<string>(), (EventCode)e["code"]!.GetValue<int>(), e["message"]!.GetValue<string>(),
                data is null ? null : JsonNode.Parse(data));
        })];

    /// <summary>Waits until an event of <paramref name="code"/> (with <paramref name="detail"/> in its message, when given) is in the log.</summary>
    public static async Task<LabEvent> WaitEventAsync(LabAgent agent, string job, EventCode code, TimeSpan timeout, string? detail = null, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var events = await EventsAsync(agent, job, ct);
            if (events.FirstOrDefault(e => e.Is(code, detail)) is { } hit)
                return hit;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no event {What(code, detail)} within {timeout.TotalSeconds} s; events:\n{string.Join('\n', events)}");
            await Task.Delay(100, ct);
        }
    }

    /// <summary>The single event of <paramref name="code"/> (with <paramref name="detail"/>, when given); fails with the whole log otherwise.</summary>
    public static LabEvent One(IReadOnlyList<LabEvent> events, EventCode code, string? detail = null)
    {
        var hits = events.Where(e => e.Is(code, detail)).ToList();
        return hits.Count == 1 ? hits[0]
            : throw new LabException($"expected one event {What(code, detail)}, found {hits.Count}; events:\n{string.Join('\n', events)}");
    }

    /// <summary>The first event of <paramref name="code"/> (with <paramref name="detail"/>, when given).</summary>
    public static LabEvent Any(IReadOnlyList<LabEvent> events, EventCode code, string? detail = null) =>
        events.FirstOrDefault(e => e.Is(code, detail))
            ?? throw new LabException($"no event {What(code, detail)}; events:\n{string.Join('\n', events)}");

    /// <summary>The first of the monitor's events for the watch <paramref name="label"/> at <paramref name="misses"/> missed probes (<see cref="LabEvent.IsMiss"/>).</summary>
    public static LabEvent Missed(IReadOnlyList<LabEvent> events, string label, int misses) =>
        events.FirstOrDefault(e => e.IsMiss(label, misses))
            ?? throw new LabException($"no event {EventCode.MonitorAddressMissing} for {label} at {misses} missed probes; events:\n{string.Join('\n', events)}");

    private static string What(EventCode code, string? detail) =>
        detail is null ? $"{code} ({(int)code})" : $"{code} ({(int)code}) containing \"{detail}\"";
}
