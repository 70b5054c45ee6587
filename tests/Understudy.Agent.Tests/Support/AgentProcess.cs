using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Understudy.Agent.Tests.Support;

/// <summary>A real `understudy agent` process on loopback, with its own data dir; killed on dispose.</summary>
internal sealed class AgentProcess : IAsyncDisposable
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

    public async Task TrustAsync(AgentProcess other) => (await CliAsync("trust", "add", other.Id, "--name", other.Name)).EnsureOk();

    public async ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        await Task.CompletedTask;
    }

}

internal static class Native
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    public static extern int Kill(int pid, int signal);
}

internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public CliResult EnsureOk() => ExitCode == 0 ? this : throw new InvalidOperationException($"exit {ExitCode}: {Stderr}{Stdout}");
}

internal static class Cli
{
    public static async Task<CliResult> RunAsync(string dataDir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(AgentProcess.CliDll);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--data-dir");
        psi.ArgumentList.Add(dataDir);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        return new CliResult(p.ExitCode, await o, await e);
    }
}

internal static class Wait
{
    /// <summary>Polls a condition until it holds or the deadline passes (never a fixed sleep).</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(100);
        }
    }
}

/// <summary>A temp directory removed on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ustd-test-" + Guid.NewGuid().ToString("N")[..10]);

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A source and a target agent that trust each other, plus a job helper.</summary>
internal sealed class AgentPair : IAsyncDisposable
{
    public TempDir Dir { get; } = new();

    public AgentProcess Source { get; }

    public AgentProcess Target { get; }

    public AgentPair()
    {
        Source = new AgentProcess(Dir.Sub("source-agent"), "src");
        Target = new AgentProcess(Dir.Sub("target-agent"), "tgt");
    }

    public string SourceData => Dir.Sub("data");

    public string TargetData => Dir.Sub("replica");

    public async Task StartAsync()
    {
        await Task.WhenAll(Source.StartAsync(), Target.StartAsync());
        await Source.TrustAsync(Target);
        await Target.TrustAsync(Source);
        Directory.CreateDirectory(SourceData);
    }

    public string JobYaml(string name = "job1", string mode = "different", string orphans = "keep", string? targetPath = null, string? extra = null) => $"""
        name: {name}
        source:
          paths: [{SourceData}]
        target:
          address: {Target.PeerAddress}
          id: {Target.Id}
          path: {targetPath ?? TargetData}
        mirror:
          mode: {mode}
          orphans: {orphans}
        {extra ?? ""}
        """;

    public async Task ApplyAsync(string yaml)
    {
        var f = Dir.Sub($"job-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(f, yaml);
        (await Source.CliAsync("job", "apply", f)).EnsureOk();
    }

    public async Task WaitMirroredAsync(string job = "job1") =>
        (await Source.CliAsync("wait", job, "--until", "mirrored", "--timeout", "120")).EnsureOk();

    public async ValueTask DisposeAsync()
    {
        await Source.DisposeAsync();
        await Target.DisposeAsync();
        Dir.Dispose();
    }
}
