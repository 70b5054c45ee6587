using System.CommandLine;
using System.Text.Json.Nodes;

namespace Understudy.Cli.Commands;

internal static class TrustCommands
{
    public static Command Trust()
    {
        var id = new Argument<string>("id") { Description = "The peer agent's ID (from 'understudy id' on that agent)" };
        var name = new Option<string?>("--name") { Description = "A name for the peer" };
        var add = new Command("add", "Trust a peer agent: it may then connect (as source or target)") { Arguments = { id }, Options = { name } };
        add.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.PostAsync("api/v1/trust", new JsonObject { ["id"] = r.GetValue(id), ["name"] = r.GetValue(name) }, ct);
            Console.WriteLine($"trusted {res["id"]}");
            return ExitCodes.Ok;
        }));
        var list = new Command("list", "List trusted peers");
        var json = new Option<bool>("--json") { Description = "JSON output" };
        list.Options.Add(json);
        list.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.GetAsync("api/v1/trust", ct);
            if (r.GetValue(json))
            {
                Console.WriteLine(res.ToJsonString());
                return ExitCodes.Ok;
            }
            foreach (var p in res.AsArray())
                Console.WriteLine($"{p!["id"]}  {p["name"]}  (since {p["addedAt"]})");
            return ExitCodes.Ok;
        }));
        var rid = new Argument<string>("id") { Description = "The peer agent's ID" };
        var remove = new Command("remove", "Stop trusting a peer agent") { Arguments = { rid } };
        remove.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            await c.DeleteAsync($"api/v1/trust/{Uri.EscapeDataString(r.GetValue(rid)!)}", ct);
            Console.WriteLine("removed");
            return ExitCodes.Ok;
        }));
        return new Command("trust", "Manage the peers this agent accepts") { Subcommands = { add, list, remove } };
    }

    internal static string Str(JsonNode? n) => n?.ToString() ?? "";
}
