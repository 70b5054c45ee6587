using System.CommandLine;
using Understudy.Core.Api;
using static Understudy.Cli.TerminalText;

namespace Understudy.Cli.Commands;

/// <summary>
/// `trust add|set|list|remove`. A trust entry lets the peer connect; as a source, its jobs may write here only under
/// the entry's roots, and its replicas carry setuid/setgid bits and security.*/trusted.* xattrs only when the entry
/// allows them (docs/security.md).
/// </summary>
internal static class TrustCommands
{
    public static Command Trust()
    {
        var id = new Argument<string>("id") { Description = "The peer agent's ID (from 'understudy id' on that agent)" };
        var name = new Option<string?>("--name") { Description = "A name for the peer" };
        var (roots, setuid, xattrs) = PolicyOptions();
        var add = new Command("add", "Trust a peer agent: it may then connect (as source or target). As a source, its jobs may write here only under the given roots (none: nowhere). Again for a trusted peer: adds the roots and privileges given")
        {
            Arguments = { id },
            Options = { name, roots, setuid, xattrs },
        };
        add.SetAction(GlobalOptions.Run((r, c, ct) => PostAsync(c, new TrustRequest(r.GetValue(id)!, r.GetValue(name), r.GetValue(roots), r.GetValue(setuid), r.GetValue(xattrs)), ct)));

        var sid = new Argument<string>("id") { Description = "The peer agent's ID" };
        var (sroots, ssetuid, sxattrs) = PolicyOptions();
        var set = new Command("set", "Replace a trusted peer's roots and privileges with exactly those given (no --root: it may write nowhere here). Its live sessions restart under the new policy")
        {
            Arguments = { sid },
            Options = { sroots, ssetuid, sxattrs },
        };
        set.SetAction(GlobalOptions.Run((r, c, ct) =>
            PostAsync(c, new TrustRequest(r.GetValue(sid)!, null, r.GetValue(sroots) ?? [], r.GetValue(ssetuid), r.GetValue(sxattrs), Replace: true), ct)));

        var list = new Command("list", "List trusted peers, with the roots each may write under and the privileges it has");
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
            {
                Console.WriteLine(Safe($"{p.Id}  {p.Name}  (since {p.AddedAt})"));
                Console.WriteLine(Safe($"    roots: {(p.Roots.Length == 0 ? "none (may write nowhere here)" : string.Join(", ", p.Roots))}"));
                Console.WriteLine($"    setuid/setgid: {(p.AllowSetuid ? "applied" : "dropped")}; security.*/trusted.* xattrs: {(p.AllowSecurityXattrs ? "applied" : "dropped")}");
            }
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
        return new Command("trust", "Manage the peers this agent accepts, and what each may do here as a source") { Subcommands = { add, set, list, remove } };
    }

    private static (Option<string[]> Roots, Option<bool> Setuid, Option<bool> Xattrs) PolicyOptions() => (
        new Option<string[]>("--root")
        {
            Description = "A directory this peer's jobs may write under, as a source (repeatable; absolute, no symlink on its way)",
            AllowMultipleArgumentsPerToken = false,
        },
        new Option<bool>("--allow-setuid") { Description = "Apply the set-user-ID and set-group-ID bits of this peer's files (dropped by default)" },
        new Option<bool>("--allow-security-xattrs") { Description = "Apply security.* and trusted.* extended attributes of this peer's files: capabilities, SELinux labels (dropped by default)" });

    private static async Task<int> PostAsync(ApiClient c, TrustRequest req, CancellationToken ct)
    {
        var res = await c.PostAsync("api/v1/trust", req, ApiJson.Default.TrustRequest, ApiJson.Default.TrustReply, ct);
        var entry = (await c.GetAsync("api/v1/trust", ApiJson.Default.TrustedPeerArray, ct)).FirstOrDefault(p => p.Id == res.Id);
        Console.WriteLine($"trusted {Safe(res.Id)}");
        if (entry is not null)
            Console.WriteLine(Safe($"  roots: {(entry.Roots.Length == 0 ? "none (as a source it may write nowhere here)" : string.Join(", ", entry.Roots))}"));
        return ExitCodes.Ok;
    }
}
