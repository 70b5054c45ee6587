using System.CommandLine;
using Understudy.Core.Api;
using static Understudy.Cli.TerminalText;

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
            var res = await c.PostAsync("api/v1/trust", new TrustRequest(r.GetValue(id)!, r.GetValue(name)), ApiJson.Default.TrustRequest, ApiJson.Default.TrustReply, ct);
            Console.WriteLine($"trusted {Safe(res.Id)}");
            return ExitCodes.Ok;
        }));
        var list = new Command("list", "List trusted peers");
        var json = new Option<bool>("--json") { Description = "JSON output" };
        list.Options.Add(json);
        list.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.GetReplyAsync("api/v1/trust", ApiJson.Default.TrustedPeerArray, ct);
            if (r.GetValue(json))
            {
                Console.WriteLine(res.Json);
                return ExitCodes.Ok;
            }
            foreach (var p in res.Value)
                Console.WriteLine(Safe($"{p.Id}  {p.Name}  (since {p.AddedAt})"));
            return ExitCodes.Ok;
        }));
        var rid = new Argument<string>("id") { Description = "The peer agent's ID" };
        var remove = new Command("remove", "Stop trusting a peer agent: its live sessions end, its fail-over plans and registrations here are disarmed (replicas kept)") { Arguments = { rid } };
        remove.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.DeleteAsync($"api/v1/trust/{Uri.EscapeDataString(r.GetValue(rid)!)}", ApiJson.Default.TrustReply, ct);
            Console.WriteLine("removed");
            // What the revocation ended at once: live sessions, fail-over plans, registrations (the replicas stay).
            foreach (var line in res.Disarmed ?? [])
                Console.WriteLine(Safe($"  {line}"));
            return ExitCodes.Ok;
        }));
        return new Command("trust", "Manage the peers this agent accepts") { Subcommands = { add, list, remove } };
    }
}
