using System.CommandLine;
using System.Runtime.InteropServices;
using Understudy.Agent.Common;
using Understudy.Agent.Hosting;

namespace Understudy.Cli.Commands;

internal static class AgentCommands
{
    public static Command Agent()
    {
        var listen = new Option<string>("--listen") { Description = "Peer link address (TLS)", DefaultValueFactory = _ => "0.0.0.0:7420" };
        var api = new Option<string>("--api-listen", "--api-address") { Description = "Management API address HOST:PORT (HTTPS when not loopback); `agent --api HOST:PORT` means the same", DefaultValueFactory = _ => "127.0.0.1:7421" };
        var apiCert = new Option<string?>("--api-cert") { Description = "Serve the API over HTTPS with this certificate (PEM, with --api-key; or PKCS#12) instead of the agent's own" };
        var apiKey = new Option<string?>("--api-key") { Description = "Private key (PEM) of --api-cert" };
        var allowedHost = new Option<string[]>("--api-allowed-host")
        {
            Description = "A further Host name the API and console answer to (repeatable); loopback, this machine's host name and addresses always are, any other gets 421 (DNS rebinding)",
        };
        var name = new Option<string?>("--name") { Description = "Name shown to peers and in the console (default: host name)" };
        var notify = new Option<string?>("--notify") { Description = "Notification rules file (webhooks, e-mail, programs; docs/monitoring.md); default DATA-DIR/notify.yaml, used when it exists" };
        var metricsOpen = new Option<bool>("--metrics-anonymous-loopback")
        {
            Description = "Answer GET /metrics without a token when the request comes from loopback (a local scraper); otherwise it needs the metrics-token or api-token file's token",
        };
        var keep = new Option<int>("--events-keep")
        {
            Description = "Keep at most this many events in the event log (the oldest go first)",
            DefaultValueFactory = _ => Understudy.Agent.Events.EventRetention.DefaultMaxEvents,
        };
        var keepDays = new Option<int>("--events-keep-days")
        {
            Description = "Keep events for at most this many days",
            DefaultValueFactory = _ => Understudy.Agent.Events.EventRetention.DefaultMaxAgeDays,
        };
        var heartbeat = new Option<string>("--peer-heartbeat")
        {
            Description = "Heartbeat interval of every peer link (100ms to 10m): a link that carries nothing for 3 of the peer's intervals is closed and made again",
            DefaultValueFactory = _ => "5s",
        };
        var cmd = new Command("agent", "Run the Understudy agent daemon in the foreground until SIGINT/SIGTERM. Exit 0: stopped by a signal; 2: could not start (data dir, port, certificate)")
        {
            Options = { listen, api, apiCert, apiKey, allowedHost, name, notify, metricsOpen, keep, keepDays, heartbeat },
        };
        cmd.SetAction(async (r, ct) =>
        {
            AgentRuntime.ReexecIfRequested();
            if (!Understudy.Core.Jobs.JobValues.TryParseDuration(r.GetValue(heartbeat)!, out var beat)
                || beat < Understudy.Agent.Peer.PeerHeartbeat.MinInterval || beat > Understudy.Agent.Peer.PeerHeartbeat.MaxInterval)
            {
                Console.Error.WriteLine($"understudy agent: --peer-heartbeat '{r.GetValue(heartbeat)}': expected a duration from 100ms to 10m, like 5s");
                return ExitCodes.Error;
            }
            // For the daemon, the global --api (elsewhere: which agent to talk to) names where to serve the API.
            var apiAddress = r.GetResult(api) is null or { Implicit: true } && r.GetValue(GlobalOptions.Api) is { } given ? ListenAddress(given) : r.GetValue(api)!;
            var opts = new AgentOptions(Path.GetFullPath(r.GetValue(GlobalOptions.DataDir)!), r.GetValue(listen)!, apiAddress, r.GetValue(name),
                r.GetValue(apiCert) is { } ac ? Path.GetFullPath(ac) : null, r.GetValue(apiKey) is { } ak ? Path.GetFullPath(ak) : null,
                r.GetValue(allowedHost) ?? [], r.GetValue(notify) is { } nf ? Path.GetFullPath(nf) : null, r.GetValue(metricsOpen),
                new Understudy.Agent.Events.EventRetention(Math.Max(1, r.GetValue(keep)), Math.Max(1, r.GetValue(keepDays))), beat);
            AgentHost host;
            try
            {
                host = AgentHost.Create(opts);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                Console.Error.WriteLine($"understudy agent: cannot start: {e.Message}");
                return ExitCodes.Error;
            }
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            await using (host)
            {
                try
                {
                    await host.StartAsync(stop.Token);
                }
                catch (IOException e)
                {
                    Console.Error.WriteLine($"understudy agent: cannot listen: {e.Message}");
                    return ExitCodes.Error;
                }
                catch (System.Net.Sockets.SocketException e)
                {
                    Console.Error.WriteLine($"understudy agent: cannot listen on {opts.Listen}: {e.Message}");
                    return ExitCodes.Error;
                }
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>`127.0.0.1:7421`, or a URL such as `https://0.0.0.0:7421/`, as HOST:PORT.</summary>
    private static string ListenAddress(string given) =>
        Uri.TryCreate(given, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? $"{u.Host}:{u.Port}" : given;

    public static Command Id()
    {
        var cmd = new Command("id", "Print the agent's ID (its certificate fingerprint), which peers trust and jobs name as target.id");
        cmd.SetAction(r =>
        {
            var dir = r.GetValue(GlobalOptions.DataDir)!;
            var id = AgentIdentity.ReadId(dir);
            if (id is null)
            {
                Console.Error.WriteLine($"understudy: no agent identity in {dir}: start 'understudy agent --data-dir {dir}' once to create it");
                return ExitCodes.Error;
            }
            Console.WriteLine(id);
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
