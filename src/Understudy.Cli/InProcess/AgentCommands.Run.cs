using System.CommandLine;
using System.Runtime.InteropServices;
using Understudy.Agent.Common;
using Understudy.Agent.Hosting;

namespace Understudy.Cli.Commands;

// The daemon and the identity: the managed program only (Commands/AgentCommands.cs defines the verbs).
internal static partial class AgentCommands
{
    private static partial Func<ParseResult, CancellationToken, Task<int>> RunAgent(AgentFlags f) => async (r, ct) =>
    {
        AgentRuntime.ReexecIfRequested();
        if (!Understudy.Core.Jobs.JobValues.TryParseDuration(r.GetValue(f.Heartbeat)!, out var beat)
            || beat < Understudy.Agent.Peer.PeerHeartbeat.MinInterval || beat > Understudy.Agent.Peer.PeerHeartbeat.MaxInterval)
        {
            Console.Error.WriteLine($"understudy agent: --peer-heartbeat '{r.GetValue(f.Heartbeat)}': expected a duration from 100ms to 10m, like 5s");
            return ExitCodes.Error;
        }
        // For the daemon, the global --api (elsewhere: which agent to talk to) names where to serve the API.
        var apiAddress = r.GetResult(f.Api) is null or { Implicit: true } && r.GetValue(GlobalOptions.Api) is { } given ? ListenAddress(given) : r.GetValue(f.Api)!;
        var opts = new AgentOptions(Path.GetFullPath(r.GetValue(GlobalOptions.DataDir)!), r.GetValue(f.Listen)!, apiAddress, r.GetValue(f.Name),
            r.GetValue(f.ApiCert) is { } ac ? Path.GetFullPath(ac) : null, r.GetValue(f.ApiKey) is { } ak ? Path.GetFullPath(ak) : null,
            r.GetValue(f.AllowedHost) ?? [], r.GetValue(f.Notify) is { } nf ? Path.GetFullPath(nf) : null, r.GetValue(f.MetricsOpen),
            new Understudy.Agent.Events.EventRetention(Math.Max(1, r.GetValue(f.Keep)), Math.Max(1, r.GetValue(f.KeepDays))), beat);
        AgentHost host;
        try
        {
            host = await AgentHost.CreateAsync(opts, ct);
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
    };

    /// <summary>`127.0.0.1:7421`, or a URL such as `https://0.0.0.0:7421/`, as HOST:PORT.</summary>
    private static string ListenAddress(string given) =>
        Uri.TryCreate(given, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? $"{u.Host}:{u.Port}" : given;

    private static partial Func<ParseResult, CancellationToken, Task<int>> RunId() => (r, _) =>
    {
        var dir = r.GetValue(GlobalOptions.DataDir)!;
        var id = AgentIdentity.ReadId(dir);
        if (id is null)
        {
            Console.Error.WriteLine($"understudy: no agent identity in {dir}: start 'understudy agent --data-dir {dir}' once to create it");
            return Task.FromResult(ExitCodes.Error);
        }
        Console.WriteLine(id);
        return Task.FromResult(ExitCodes.Ok);
    };
}
