using System.CommandLine;
using Understudy.Core.Api;
using static Understudy.Cli.TerminalText;

namespace Understudy.Cli.Commands;

/// <summary>`understudy notify show|test|reload`: the agent's notification rules (docs/monitoring.md).</summary>
internal static class NotifyCommands
{
    public static Command Notify()
    {
        var json = new Option<bool>("--json") { Description = "JSON output" };
        var show = new Command("show", "Show the notification destinations and rules in force, with each destination's delivered and failed counts") { Options = { json } };
        show.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.GetReplyAsync("api/v1/notify", ApiJson.Default.NotifyReply, ct);
            if (r.GetValue(json))
                Console.WriteLine(res.Json);
            else
                Print(res.Value);
            return ExitCodes.Ok;
        }));

        var destination = new Option<string?>("--destination") { Description = "Only this destination (default: every one)" };
        var test = new Command("test", "Send a test notification (event 805) once to every destination, whatever the rules say. Exit 0: all delivered; 1: one failed")
        {
            Options = { destination },
        };
        test.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.PostAsync("api/v1/notify/test", new NotifyTestRequest(r.GetValue(destination)), ApiJson.Default.NotifyTestRequest,
                ApiJson.Default.NotifyTestReply, ct);
            foreach (var t in res.Results)
                Console.WriteLine(Safe($"{t.Destination}: {(t.Delivered ? "delivered" : "FAILED")} ({t.Detail})"));
            return res.Results.All(t => t.Delivered) ? ExitCodes.Ok : ExitCodes.Failed;
        }));

        var reload = new Command("reload", "Read the notify file again; when it is not valid the error is shown and the rules in force stay");
        reload.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.PostAsync("api/v1/notify/reload", ApiJson.Default.NotifyReply, ct);
            Print(res);
            return ExitCodes.Ok;
        }));
        return new Command("notify", "Notifications: webhooks, e-mail (SMTP) and programs told of events, and of a pending fail-over until it is answered")
        {
            Subcommands = { show, test, reload },
        };
    }

    private static void Print(NotifyReply n)
    {
        Console.WriteLine(Safe($"file: {n.File}{(n.FileExists ? "" : " (not found: nothing is sent)")}"));
        if (n.Error is not null)
            Console.WriteLine(Safe($"NOT IN FORCE: {n.Error}"));
        Console.WriteLine($"pending fail-over repeated every {n.PendingRepeatSeconds:0.#} s");
        foreach (var d in n.Destinations)
            Console.WriteLine(Safe($"destination {d.Name}: {d.Kind} {d.Target}{(d.Signed ? " (signed)" : "")}, {d.Retries} retries; delivered {d.Delivered}, failed {d.Failed}, queued {d.Queued}"));
        foreach (var (rule, i) in n.Rules.Select((x, i) => (x, i)))
        {
            var when = new[] { ("severity", string.Join(",", rule.Severity)), ("category", string.Join(",", rule.Category)), ("code", string.Join(",", rule.Code)),
                ("job", string.Join(",", rule.Job)) }.Where(p => p.Item2.Length > 0).Select(p => $"{p.Item1} {p.Item2}");
            var cond = string.Join(", ", when);
            Console.WriteLine(Safe($"rule {i + 1}: {(cond.Length == 0 ? "every event" : cond)} -> {string.Join(", ", rule.To)}"));
        }
    }
}
