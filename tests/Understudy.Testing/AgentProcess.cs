using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace Understudy.Testing;

/// <summary>A real `understudy agent` process on loopback, with its own data dir; killed on dispose.</summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private Process? _process;
    private readonly StringBuilder _log = new();

    public AgentProcess(string dataDir, string name)
    {
        DataDir = dataDir;
        Name = name;
        PeerPort = Ports.Free();
        ApiPort = Ports.Free();
    }

    public string DataDir { get; }

    public string Name { get; }

    public int PeerPort { get; }

    public int ApiPort { get; }

    public string PeerAddress => $"127.0.0.1:{PeerPort}";

    public string Id { get; private set; } = "";

    /// <summary>Extra environment for the agent process (e.g. capture test knobs); set before <see cref="StartAsync"/>.</summary>
    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>Extra arguments of `understudy agent`; set before <see cref="StartAsync"/>.</summary>
    public List<string> ExtraArgs { get; } = [];

    /// <summary>A command that runs the agent (e.g. <c>unshare … sh -c '…; exec "$0" "$@"'</c>); it gets `dotnet understudy.dll agent …` as its arguments.</summary>
    public List<string> Wrapper { get; } = [];

    /// <summary>This agent's scripts directory (UNDERSTUDY_SCRIPTS_DIR, made at start unless the test sets its own): fail-over
    /// plans name their scripts relative to it.</summary>
    public string ScriptsDir => Environment.TryGetValue("UNDERSTUDY_SCRIPTS_DIR", out var d) ? d : Path.Combine(Path.GetDirectoryName(DataDir)!, Name + "-scripts");

    /// <summary>Writes an executable shell script (#!/bin/sh + <paramref name="body"/>) into <see cref="ScriptsDir"/>; returns the name a plan uses.</summary>
    public string WriteScript(string name, string body)
    {
        Directory.CreateDirectory(ScriptsDir);
        var path = Path.Combine(ScriptsDir, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return name;
    }

    /// <summary>
    /// `failover JOB --approve` on this (target) agent, as its operator does before any fail-over can run (issue 19, item 2);
    /// waits for the plan to arrive from the source first.
    /// </summary>
    public async Task ApproveFailoverAsync(string job, TimeSpan? timeout = null)
    {
        await Wait.UntilAsync(async () => (await CliAsync("failover", job, "--approve")).ExitCode == 0, timeout ?? TimeSpan.FromSeconds(60),
            $"the fail-over plan of {job} to arrive and be approved");
    }

    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "understudy.dll");

    public async Task StartAsync()
    {
        var psi = new ProcessStartInfo(Wrapper.Count > 0 ? Wrapper[0] : "dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in Wrapper.Skip(1).Concat(Wrapper.Count > 0 ? ["dotnet"] : []))
            psi.ArgumentList.Add(a);
        foreach (var a in new[] { CliDll, "agent", "--data-dir", DataDir, "--listen", PeerAddress, "--api-listen", $"127.0.0.1:{ApiPort}", "--name", Name })
            psi.ArgumentList.Add(a);
        foreach (var a in ExtraArgs)
            psi.ArgumentList.Add(a);
        Directory.CreateDirectory(ScriptsDir);
        psi.Environment["UNDERSTUDY_SCRIPTS_DIR"] = ScriptsDir;
        foreach (var (k, v) in Environment)
            psi.Environment[k] = v;
        var addrFile = Path.Combine(DataDir, "api-address");
        if (File.Exists(addrFile))
            File.Delete(addrFile);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Wait.UntilAsync(() => File.Exists(addrFile) || _process.HasExited, TimeSpan.FromSeconds(60), "agent start");
        if (_process.HasExited)
            throw new InvalidOperationException($"agent {Name} exited: {Log}");
        Id = (await Cli.RunAsync(DataDir, "id")).Stdout.Trim();
    }

    /// <summary>The agent's process id (0 before it starts): to kill it at the same instant as something else.</summary>
    public int Pid => _process?.Id ?? 0;

    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            _ = Native.Kill(_process.Id, 15);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    public Task<CliResult> CliAsync(params string[] args) => Cli.RunAsync(DataDir, args);

    public async Task<JsonNode> StatusAsync(string job)
    {
        var r = await CliAsync("status", job, "--json");
        return JsonNode.Parse(r.Stdout)!;
    }

    /// <summary>The job's entry in this agent's fail-over plans (<c>status --json</c>), or null when it has none here.</summary>
    public async Task<JsonNode?> FailoverAsync(string job)
    {
        var r = await CliAsync("status", "--json");
        return JsonNode.Parse(r.Stdout)!["failover"]!.AsArray().FirstOrDefault(f => f!["name"]!.GetValue<string>() == job);
    }

    /// <summary>The job's fail-over state here ("protecting", "failed-over", ...), or null when it has no plan here.</summary>
    public async Task<string?> FailoverStateAsync(string job) => (await FailoverAsync(job))?["state"]?.GetValue<string>();

    /// <summary>Trusts <paramref name="other"/>; as a source it may write under the temp directory, where every test's
    /// replicas are (or under <paramref name="roots"/>), with the default privileges unless <paramref name="extra"/> widens them.</summary>
    public async Task TrustAsync(AgentProcess other, string[]? roots = null, params string[] extra)
    {
        var args = new List<string> { "trust", "add", other.Id, "--name", other.Name };
        // Set to run today's tests against an agent from before trust entries had roots (to see a new test fail first).
        if (System.Environment.GetEnvironmentVariable("UNDERSTUDY_TEST_LEGACY_TRUST") != "1")
        {
            foreach (var r in roots ?? [TestRoot])
                args.AddRange(["--root", r]);
            args.AddRange(extra);
        }
        (await CliAsync([.. args])).EnsureOk();
    }

    /// <summary>The root test agents trust each other with: the real temp directory (TempDir puts everything there).</summary>
    public static string TestRoot => new DirectoryInfo(Path.GetTempPath().TrimEnd('/')).ResolveLinkTarget(true)?.FullName ?? Path.GetTempPath().TrimEnd('/');

    public async ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        await Task.CompletedTask;
    }
}
