using System.Text.Json.Nodes;
using Understudy.Testing;
using Understudy.Testing.Lab;

namespace Understudy.LabTests.Failback;

/// <summary>
/// A lab agent started with extra environment (Samba paths, poll intervals), which the shared
/// <see cref="LabAgent"/> does not take: `env K=V … dotnet understudy.dll agent` in the host's namespace.
/// </summary>
internal sealed class EnvLabAgent(LabHost host, IReadOnlyDictionary<string, string> env) : IAsyncDisposable
{
    private LabProcess? _process;

    public LabHost Host { get; } = host;

    public string Name => Host.Name;

    public string DataDir => Host.Sub("agent");

    public string PeerAddress => $"{Host.Address}:{LabAgent.PeerPort}";

    public string Id { get; private set; } = "";

    public string Log => _process?.Log ?? "";

    public async Task StartAsync()
    {
        Directory.CreateDirectory(DataDir);
        var addrFile = Path.Combine(DataDir, "api-address");
        File.Delete(addrFile);
        _process = Host.Lab.Own(LabProcess.Start(Host, ["env", .. env.Select(kv => $"{kv.Key}={kv.Value}"), "dotnet", AgentProcess.CliDll, "agent",
            "--data-dir", DataDir, "--listen", PeerAddress, "--api-listen", $"127.0.0.1:{LabAgent.ApiPort}", "--name", Name]));
        var p = _process;
        await Wait.UntilAsync(() => File.Exists(addrFile) || p.HasExited, TimeSpan.FromSeconds(60), $"agent {Name} start");
        if (p.HasExited)
            throw new LabException($"agent {Name} in {Host} exited: {p.Log}");
        Id = (await CliOkAsync("id")).Stdout.Trim();
    }

    public Task<CliResult> CliAsync(params string[] args) =>
        Host.Lab.ExecAsync(Host, ["dotnet", AgentProcess.CliDll, .. args, "--data-dir", DataDir], TimeSpan.FromMinutes(3));

    public async Task<CliResult> CliOkAsync(params string[] args)
    {
        var r = await CliAsync(args);
        return r.ExitCode == 0 ? r : throw new LabException($"understudy {string.Join(' ', args)} in {Host} failed ({r.ExitCode}): {r.Stderr}{r.Stdout}");
    }

    public async Task<JsonNode> StatusAsync(string? job = null) =>
        JsonNode.Parse((await CliOkAsync(job is null ? ["status", "--json"] : ["status", job, "--json"])).Stdout)!;

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
            await _process.DisposeAsync();
    }
}
