using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;

namespace Understudy.Agent.Tests;

/// <summary>An agent's event log as `understudy events --json` prints it, oldest first. Tests assert what happened by
/// the event's code (docs/events.md), not by the English of its message, which may be reworded.</summary>
internal static class AgentEvents
{
    public static async Task<List<JsonNode>> EventsAsync(this AgentProcess agent, string? job = null, int limit = 5000)
    {
        string[] args = job is null ? ["events", "--json", "--limit", $"{limit}"] : ["events", "--job", job, "--json", "--limit", $"{limit}"];
        var r = (await agent.CliAsync(args)).EnsureOk();
        return [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(l => JsonNode.Parse(l)!)];
    }

    public static EventCode Code(this JsonNode e) => (EventCode)e["code"]!.GetValue<int>();

    public static string Message(this JsonNode e) => e["message"]!.GetValue<string>();

    public static IEnumerable<EventCode> Codes(this IEnumerable<JsonNode> events) => events.Select(Code);

    /// <summary>The event's <c>data</c> (a JSON object stored as a string), or null.</summary>
    public static JsonNode? Data(this JsonNode e) => e["data"]?.GetValue<string>() is { } d ? JsonNode.Parse(d) : null;

    /// <summary>Every event on one line each, for a failed assertion's message.</summary>
    public static string Describe(this IEnumerable<JsonNode> events) =>
        string.Join('\n', events.Select(e => $"{e["code"]} {e["severity"]} {e["message"]}"));
}
