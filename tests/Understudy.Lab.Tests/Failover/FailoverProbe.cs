using System.Text.Json.Nodes;
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

/// <summary>One event of `understudy events --json`.</summary>
internal sealed record LabEvent(DateTimeOffset Time, string Severity, string Category, string Message, JsonNode? Data)
{
    public override string ToString() => $"{Time:HH:mm:ss.fff} {Severity,-7} {Category,-8} {Message}";
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

    public static async Task<IReadOnlyList<LabEvent>> EventsAsync(LabAgent agent, string job, CancellationToken ct = default)
    {
        var r = await agent.CliOkAsync(["events", "--job", job, "--json", "--limit", "5000"], ct);
        return [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(line =>
        {
            var e = JsonNode.Parse(line)!;
            var data = e["data"]?.GetValue<string>();
            return new LabEvent(DateTimeOffset.Parse(e["time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture),
                e["severity"]!.GetValue<string>(), e["category"]!.GetValue<string>(), e["message"]!.GetValue<string>(),
                data is null ? null : JsonNode.Parse(data));
        })];
    }

    /// <summary>Waits until an event whose message contains <paramref name="text"/> is in the log.</summary>
    public static async Task<LabEvent> WaitEventAsync(LabAgent agent, string job, string text, TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var events = await EventsAsync(agent, job, ct);
            if (events.FirstOrDefault(e => e.Message.Contains(text, StringComparison.Ordinal)) is { } hit)
                return hit;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no event containing \"{text}\" within {timeout.TotalSeconds} s; events:\n{string.Join('\n', events)}");
            await Task.Delay(100, ct);
        }
    }

    /// <summary>The single event containing <paramref name="text"/>; fails with the whole log otherwise.</summary>
    public static LabEvent One(IReadOnlyList<LabEvent> events, string text)
    {
        var hits = events.Where(e => e.Message.Contains(text, StringComparison.Ordinal)).ToList();
        return hits.Count == 1 ? hits[0]
            : throw new LabException($"expected one event containing \"{text}\", found {hits.Count}; events:\n{string.Join('\n', events)}");
    }

    public static LabEvent Any(IReadOnlyList<LabEvent> events, string text) =>
        events.FirstOrDefault(e => e.Message.Contains(text, StringComparison.Ordinal))
            ?? throw new LabException($"no event containing \"{text}\"; events:\n{string.Join('\n', events)}");
}
