namespace Understudy.Testing;

/// <summary>A source and a target agent that trust each other, plus a job helper.</summary>
public sealed class AgentPair : IAsyncDisposable
{
    public TempDir Dir { get; } = new();

    public AgentProcess Source { get; }

    public AgentProcess Target { get; }

    public AgentPair()
    {
        Source = new AgentProcess(Dir.Sub("source-agent"), "src");
        Target = new AgentProcess(Dir.Sub("target-agent"), "tgt");
    }

    /// <summary>Widenings of the target's trust entry for the source (e.g. <c>--allow-setuid</c>): by default the
    /// target drops set-user/group-ID bits and security.*/trusted.* xattrs (docs/security.md).</summary>
    public string[] TargetTrust { get; init; } = [];

    public string SourceData => Dir.Sub("data");

    public string TargetData => Dir.Sub("replica");

    public async Task StartAsync()
    {
        await Task.WhenAll(Source.StartAsync(), Target.StartAsync());
        await Source.TrustAsync(Target);
        await Target.TrustAsync(Source, null, TargetTrust);
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

    /// <summary>A job's <c>failover:</c> section whose plan watches the source agent's peer port (tcp, every 200 ms, 3
    /// misses); <paramref name="extra"/> adds keys to it (indented by two spaces) or sections after it.</summary>
    public string FailoverYaml(string extra = "") => $$"""
        failover:
          monitor:
            addresses: [ { address: 127.0.0.1, method: tcp, port: {{Source.PeerPort}} } ]
            interval: 200ms
            misses: 3
        {{extra}}
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
