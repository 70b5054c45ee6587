using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Understudy.Core.Api;

namespace Understudy.Cli.Commands;

// The demo itself (Commands/DemoCommand.cs defines the verb).
internal static partial class DemoCommand
{
    /// <summary>The managed program's `demo`: runs the pair in this process (the native client hands `demo` to it).</summary>
    private static partial Func<ParseResult, CancellationToken, Task<int>> Run(DemoFlags f) => async (r, ct) =>
    {
        try
        {
            return await RunAsync(Path.GetFullPath(r.GetValue(f.Dir)!), r.GetValue(f.Files), r.GetValue(f.Keep), ct);
        }
        catch (CliException e)
        {
            Console.Error.WriteLine($"understudy demo: {e.Message}");
            return e.ExitCode;
        }
    };

    private static async Task<int> RunAsync(string dir, int fileCount, bool keep, CancellationToken ct)
    {
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        var data = Path.Combine(dir, "source-data");
        var replica = Path.Combine(dir, "target-data");
        Console.WriteLine($"demo directory: {dir}");
        Console.WriteLine($"generating {fileCount} sample files in {data} ...");
        Generate(data, fileCount);

        await using var source = await DemoAgent.StartAsync("source", Path.Combine(dir, "source-agent"), ct);
        await using var target = await DemoAgent.StartAsync("target", Path.Combine(dir, "target-agent"), ct);
        using var sc = ApiClient.Resolve(null, null, source.DataDir, null);
        using var tc = ApiClient.Resolve(null, null, target.DataDir, null);
        var sourceId = (await sc.GetAsync("api/v1/agent", ApiJson.Default.AgentInfo, ct)).Id;
        var targetId = (await tc.GetAsync("api/v1/agent", ApiJson.Default.AgentInfo, ct)).Id;
        await sc.PostAsync("api/v1/trust", new TrustRequest(targetId, "demo-target"), ApiJson.Default.TrustRequest, ApiJson.Default.TrustReply, ct);
        await tc.PostAsync("api/v1/trust", new TrustRequest(sourceId, "demo-source", [replica]), ApiJson.Default.TrustRequest, ApiJson.Default.TrustReply, ct);
        Console.WriteLine($"source agent {sourceId[..16]}… on {source.PeerAddress}; target agent {targetId[..16]}… on {target.PeerAddress}");

        var yaml = $"""
            name: demo
            source:
              paths: [{data}]
              exclude: ["*.tmp"]
            target:
              address: {target.PeerAddress}
              id: {targetId}
              path: {replica}
            mirror:
              mode: different
              orphans: delete
            failover:
              monitor:
                addresses:
                  - address: 127.0.0.1
                    method: tcp
                    port: {source.PeerPort}
                interval: 500ms
                misses: 3
              trigger: automatic
              scripts:
                post_failover:
                  - run: {PostFailoverScript(target.DataDir)}
                    timeout: 10s
            """;
        var jobFile = Path.Combine(dir, "demo-job.yaml");
        await File.WriteAllTextAsync(jobFile, yaml + "\n", ct);
        Console.WriteLine($"applying {jobFile}");
        await sc.PostAsync("api/v1/jobs", new ApplyRequest(yaml, jobFile), ApiJson.Default.ApplyRequest, ApiJson.Default.JobNameReply, ct);
        int watched = await StatusCommands.WatchAsync(sc, "demo", untilDone: true, ct);
        if (watched != ExitCodes.Ok)
            return watched;
        var report = await sc.PostAsync("api/v1/jobs/demo/verify", new VerifyRequest(Checksum: true, Repair: false), ApiJson.Default.VerifyRequest, ApiJson.Default.VerifyReport, ct);
        int diffs = report.Differences.Count;
        Console.WriteLine(diffs == 0
            ? $"verify --checksum: identical ({report.EntriesChecked} entries compared by content)"
            : $"verify --checksum: {diffs} differences");
        if (diffs != 0)
            return ExitCodes.Failed;
        await ApprovePlanAsync(tc, ct);
        if (!await ReplicateAsync(sc, data, ct))
            return ExitCodes.Failed;
        await source.DisposeAsync(); // the source server "dies"
        if (!await FailOverAsync(tc, ct))
            return ExitCodes.Failed;
        // Clients now work on the target's copy; then the repaired source comes back (passive) and the data goes home.
        await File.WriteAllTextAsync(Path.Combine(replica, "written during the fail-over.txt"), "a client wrote this on the target\n", ct);
        await using var returned = await DemoAgent.StartAsync("source", source.DataDir, ct, source.PeerPort, source.ApiPort);
        using var rc = ApiClient.Resolve(null, null, returned.DataDir, null);
        if (!await FailBackAsync(rc, tc, data, ct))
            return ExitCodes.Failed;
        if (keep)
        {
            Console.WriteLine($"agents keep running; try: understudy --data-dir {returned.DataDir} status   (Ctrl+C to stop)");
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
            }
        }
        return ExitCodes.Ok;
    }

    /// <summary>A deterministic sample tree: nested directories, text and binary files, a few larger ones, a symlink.</summary>
    private static void Generate(string root, int count)
    {
        var rng = new Random(42);
        Directory.CreateDirectory(root);
        for (int i = 0; i < count; i++)
        {
            var sub = Path.Combine(root, $"dept{i % 7}", $"project{i % 31}");
            Directory.CreateDirectory(sub);
            int size = i % 500 == 0 ? 4 * 1024 * 1024 : rng.Next(200, 48 * 1024);
            var buf = new byte[size];
            if (i % 2 == 0)
                rng.NextBytes(buf);
            else
                Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat($"line {i} of a sample document\n", size / 20 + 1))).AsSpan(0, size).CopyTo(buf);
            File.WriteAllBytes(Path.Combine(sub, $"file{i:D5}{(i % 2 == 0 ? ".bin" : ".txt")}"), buf);
        }
        Directory.CreateDirectory(Path.Combine(root, "empty dir"));
        File.WriteAllText(Path.Combine(root, "scratch.tmp"), "excluded by the job file");
        File.CreateSymbolicLink(Path.Combine(root, "latest"), "dept0/project0");
    }
}

/// <summary>One agent process started by the demo; stopped (SIGTERM) on dispose.</summary>
internal sealed class DemoAgent : IAsyncDisposable
{
    private readonly Process _process;
    private bool _disposed;

    private DemoAgent(Process p, string dataDir, int peerPort, int apiPort)
    {
        ApiPort = apiPort;
        _process = p;
        DataDir = dataDir;
        PeerPort = peerPort;
    }

    public string DataDir { get; }

    public int PeerPort { get; }

    public int ApiPort { get; }

    public string PeerAddress => $"127.0.0.1:{PeerPort}";

    /// <summary>The demo agent's scripts directory (UNDERSTUDY_SCRIPTS_DIR), beside its data directory.</summary>
    public static string ScriptsDir(string dataDir) => dataDir + "-scripts";

    public static async Task<DemoAgent> StartAsync(string name, string dataDir, CancellationToken ct, int? samePeerPort = null, int? sameApiPort = null)
    {
        int peerPort = samePeerPort ?? FreePort();
        int apiPort = sameApiPort ?? FreePort();
        var psi = SelfStartInfo();
        foreach (var a in new[] { "agent", "--data-dir", dataDir, "--listen", $"127.0.0.1:{peerPort}", "--api-listen", $"127.0.0.1:{apiPort}", "--name", $"demo-{name}" })
            psi.ArgumentList.Add(a);
        // The demo's pace: a passive source asks its target every 0.5 s (not 3 s) whether a restore is wanted.
        psi.Environment["UNDERSTUDY_PASSIVE_POLL_MS"] = "500";
        psi.Environment["UNDERSTUDY_RESTORE_SYNC_MS"] = "500";
        psi.Environment["UNDERSTUDY_SCRIPTS_DIR"] = ScriptsDir(dataDir);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        var addr = Path.Combine(dataDir, "api-address");
        // A restart: the previous run's file would say "ready" before this process listens.
        if (File.Exists(addr))
            File.Delete(addr);
        var p = Process.Start(psi) ?? throw new CliException("cannot start an agent process");
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[{name}] {e.Data}"); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var agent = new DemoAgent(p, dataDir, peerPort, apiPort);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!File.Exists(addr))
        {
            if (p.HasExited)
                throw new CliException($"{name} agent exited with code {p.ExitCode}");
            if (DateTime.UtcNow > deadline)
                throw new CliException($"{name} agent did not start within 30 s");
            await Task.Delay(100, ct);
        }
        return agent;
    }

    internal static ProcessStartInfo SelfStartInfo()
    {
        var exe = Environment.ProcessPath ?? "dotnet";
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
            psi.ArgumentList.Add(typeof(DemoAgent).Assembly.Location);
        return psi;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
    }
}
