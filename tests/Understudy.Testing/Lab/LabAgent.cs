using System.Text.Json.Nodes;
using Understudy.Testing;

namespace Understudy.Testing.Lab;

/// <summary>
/// A real `understudy agent` inside a lab host: peer link on the host's address (or another
/// listen address), management API on the namespace's own loopback. Its CLI runs in the same
/// namespace, because that loopback is the only way to its API.
/// </summary>
public sealed class LabAgent : IAsyncDisposable
{
    public const int PeerPort = 7420;
    public const int ApiPort = 7421;
    private LabProcess? _process;

    public LabAgent(LabHost host, string? name = null, string? listen = null)
    {
        Host = host;
        Name = name ?? host.Name;
        DataDir = host.Sub("agent");
        Listen = listen ?? $"{host.Address}:{PeerPort}";
    }

    public LabHost Host { get; }

    public string Name { get; }

    public string DataDir { get; }

    /// <summary>The `--listen` address; also what a job names as `target.address`.</summary>
    public string Listen { get; }

    public string PeerAddress => Listen.StartsWith("0.0.0.0:", StringComparison.Ordinal) ? $"{Host.Address}:{PeerPort}" : Listen;

    public string Id { get; private set; } = "";

    public string Log => _process?.Log ?? "";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The agent's PID (`ip netns exec`, setsid and nsenter all exec in place).</summary>
    public int Pid => _process?.Pid ?? 0;

    /// <summary>Extra environment of the agent process (e.g. UNDERSTUDY_SMB_CONF for fail-over identity steps).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    public static async Task<(LabAgent Source, LabAgent Target)> StartPairAsync(Lab lab, CancellationToken ct = default)
    {
        var source = lab.Own(new LabAgent(lab.Source));
        var target = lab.Own(new LabAgent(lab.Target));
        await Task.WhenAll(source.StartAsync(ct), target.StartAsync(ct));
        await source.TrustAsync(target, ct);
        await target.TrustAsync(source, ct);
        return (source, target);
    }

    /// <summary>Starts (or restarts, keeping its data dir) the agent and waits for its API.</summary>
    public async Task StartAsync(CancellationToken ct = default)
    {
        Directory.CreateDirectory(DataDir);
        var addrFile = Path.Combine(DataDir, "api-address");
        File.Delete(addrFile);
        // In the host's own UTS namespace: `ip netns exec` shares the machine's, and a fail-over in mode replace sets the host name.
        _process = LabProcess.Start(Host, [.. Host.InUts, "dotnet", AgentProcess.CliDll, "agent", "--data-dir", DataDir, "--listen", Listen,
            "--api-listen", $"127.0.0.1:{ApiPort}", "--name", Name], environment: Environment);
        var p = _process;
        await Wait.UntilAsync(() => File.Exists(addrFile) || p.HasExited, TimeSpan.FromSeconds(60), $"agent {Name} start");
        if (p.HasExited)
            throw new LabException($"agent {Name} in {Host} exited: {p.Log}");
        Id = (await CliOkAsync(["id"], ct)).Stdout.Trim();
    }

    public Task StopAsync() => _process?.StopAsync(TimeSpan.FromSeconds(20)) ?? Task.CompletedTask;

    /// <summary>SIGKILL, as a crash (the data dir stays for a restart).</summary>
    public void Kill() => _process?.Kill();

    /// <summary>`understudy ARGS --data-dir D` inside the agent's namespace.</summary>
    public Task<CliResult> CliAsync(IReadOnlyList<string> args, CancellationToken ct = default) =>
        Host.Lab.ExecAsync(Host, ["dotnet", AgentProcess.CliDll, .. args, "--data-dir", DataDir], TimeSpan.FromMinutes(3), ct);

    public async Task<CliResult> CliOkAsync(IReadOnlyList<string> args, CancellationToken ct = default)
    {
        var r = await CliAsync(args, ct);
        return r.ExitCode == 0 ? r : throw new LabException($"understudy {string.Join(' ', args)} in {Host} failed ({r.ExitCode}): {r.Stderr}{r.Stdout}");
    }

    /// <summary>Trusts <paramref name="other"/>; as a source it may write under this host's directory (where the lab's replicas are).</summary>
    public Task TrustAsync(LabAgent other, CancellationToken ct = default) => CliOkAsync(["trust", "add", other.Id, "--name", other.Name, "--root", Host.Dir], ct);

    public async Task<JsonNode> StatusAsync(string job, CancellationToken ct = default) =>
        JsonNode.Parse((await CliOkAsync(["status", job, "--json"], ct)).Stdout)!;

    /// <summary>A job replicating <paramref name="sourcePath"/> on this agent's host to <paramref name="targetPath"/> on <paramref name="target"/>.</summary>
    public static string JobYaml(string name, string sourcePath, LabAgent target, string targetPath, string? extra = null) => $"""
        name: {name}
        source:
          paths: [{sourcePath}]
        target:
          address: {target.PeerAddress}
          id: {target.Id}
          path: {targetPath}
        mirror:
          mode: different
          orphans: keep
        {extra ?? ""}
        """;

    public async Task ApplyJobAsync(string yaml, CancellationToken ct = default)
    {
        var file = Host.Sub($"job-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, yaml, ct);
        await CliOkAsync(["job", "apply", file], ct);
    }

    public Task WaitMirroredAsync(string job, int timeoutSeconds = 120, CancellationToken ct = default) =>
        CliOkAsync(["wait", job, "--until", "mirrored", "--timeout", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)], ct);

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
            await _process.DisposeAsync();
    }
}
