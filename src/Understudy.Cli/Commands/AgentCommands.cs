using System.CommandLine;
using Understudy.Core.Api;

namespace Understudy.Cli.Commands;

/// <summary>
/// `agent` and `id`: the verbs that run in the managed program only (InProcess/AgentCommands.Run.cs), which the native
/// client still defines, so that its `--help` and its parse errors are the managed program's own.
/// </summary>
internal static partial class AgentCommands
{
    internal sealed record AgentFlags(
        Option<string> Listen, Option<string> Api, Option<string?> ApiCert, Option<string?> ApiKey, Option<string[]> AllowedHost,
        Option<string?> Name, Option<string?> Notify, Option<bool> MetricsOpen, Option<int> Keep, Option<int> KeepDays, Option<string> Heartbeat);

    public static Command Agent()
    {
        var f = new AgentFlags(
            new Option<string>("--listen") { Description = "Peer link address (TLS)", DefaultValueFactory = _ => "0.0.0.0:7420" },
            new Option<string>("--api-listen", "--api-address") { Description = "Management API address HOST:PORT (HTTPS when not loopback); `agent --api HOST:PORT` means the same", DefaultValueFactory = _ => "127.0.0.1:7421" },
            new Option<string?>("--api-cert") { Description = "Serve the API over HTTPS with this certificate (PEM, with --api-key; or PKCS#12) instead of the agent's own" },
            new Option<string?>("--api-key") { Description = "Private key (PEM) of --api-cert" },
            new Option<string[]>("--api-allowed-host")
            {
                Description = "A further Host name the API and console answer to (repeatable); loopback, this machine's host name and addresses always are, any other gets 421 (DNS rebinding)",
            },
            new Option<string?>("--name") { Description = "Name shown to peers and in the console (default: host name)" },
            new Option<string?>("--notify") { Description = "Notification rules file (webhooks, e-mail, programs; docs/monitoring.md); default DATA-DIR/notify.yaml, used when it exists" },
            new Option<bool>("--metrics-anonymous-loopback")
            {
                Description = "Answer GET /metrics without a token when the request comes from loopback (a local scraper); otherwise it needs the metrics-token or api-token file's token",
            },
            new Option<int>("--events-keep")
            {
                Description = "Keep at most this many events in the event log (the oldest go first)",
                DefaultValueFactory = _ => EventRetentionDefaults.MaxEvents,
            },
            new Option<int>("--events-keep-days")
            {
                Description = "Keep events for at most this many days",
                DefaultValueFactory = _ => EventRetentionDefaults.MaxAgeDays,
            },
            new Option<string>("--peer-heartbeat")
            {
                Description = "Heartbeat interval of every peer link (100ms to 10m): a link that carries nothing for 3 of the peer's intervals is closed and made again",
                DefaultValueFactory = _ => "5s",
            });
        var cmd = new Command("agent", "Run the Understudy agent daemon in the foreground until SIGINT/SIGTERM. Exit 0: stopped by a signal; 2: could not start (data dir, port, certificate)")
        {
            Options = { f.Listen, f.Api, f.ApiCert, f.ApiKey, f.AllowedHost, f.Name, f.Notify, f.MetricsOpen, f.Keep, f.KeepDays, f.Heartbeat },
        };
        cmd.SetAction(RunAgent(f));
        return cmd;
    }

    public static Command Id()
    {
        var cmd = new Command("id", "Print the agent's ID (its certificate fingerprint), which peers trust and jobs name as target.id");
        cmd.SetAction(RunId());
        return cmd;
    }

    /// <summary>`agent`'s action: the daemon in the managed program; in the native client, the managed program's.</summary>
    private static partial Func<ParseResult, CancellationToken, Task<int>> RunAgent(AgentFlags f);

    /// <summary>`id`'s action: reads the agent's certificate in the managed program; in the native client, the managed program's.</summary>
    private static partial Func<ParseResult, CancellationToken, Task<int>> RunId();
}
