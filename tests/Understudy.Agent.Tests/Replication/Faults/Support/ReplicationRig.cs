using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.Agent.Tests.Replication.Faults.Support;

/// <summary>These tests start two agents each and churn the disk: one at a time on a 2-core machine.</summary>
[CollectionDefinition(nameof(ReplicationFaultsCollection), DisableParallelization = true)]
public sealed class ReplicationFaultsCollection
{
}

/// <summary>
/// Real source and target agents (<see cref="AgentPair"/>), optionally linked through a <see cref="TcpProxy"/>,
/// with one replicating job, a churn generator and the waits and checks the fault tests share. On dispose it
/// writes the churn log, the job's events and the agents' logs to the test output (shown when a test fails).
/// </summary>
internal sealed class ReplicationRig : IAsyncDisposable
{
    public const string Job = "job1";

    private readonly ITestOutputHelper _output;

    private ReplicationRig(ITestOutputHelper output) => _output = output;

    public AgentPair Agents { get; } = new();

    public TcpProxy? Proxy { get; private set; }

    public ChurnGenerator? Churn { get; private set; }

    public string SourceData => Agents.SourceData;

    public string TargetData => Agents.TargetData;

    /// <summary>A sibling of the source path on the same filesystem, outside the job.</summary>
    public string Outside => Agents.Dir.Sub("outside");

    public static async Task<ReplicationRig> StartAsync(ITestOutputHelper output, bool viaProxy = false, IReadOnlyDictionary<string, string>? sourceEnvironment = null)
    {
        var rig = new ReplicationRig(output);
        try
        {
            foreach (var (k, v) in sourceEnvironment ?? new Dictionary<string, string>())
                rig.Agents.Source.Environment[k] = v;
            if (Environment.GetEnvironmentVariable("UNDERSTUDY_CHURN_TRACE") is { Length: > 0 })
                foreach (var a in new[] { rig.Agents.Source, rig.Agents.Target })
                    a.Environment["Logging__LogLevel__Understudy.Trace"] = "Debug";
            await rig.Agents.StartAsync();
            Directory.CreateDirectory(rig.Outside);
            if (viaProxy)
                rig.Proxy = TcpProxy.Start(rig.Agents.Target.PeerAddress);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    public ChurnGenerator NewChurn(int seed) => Churn = new ChurnGenerator(SourceData, Outside, seed);

    /// <summary>Applies the job (orphans deleted: a rescan after a fault must converge, not keep what the source deleted).</summary>
    public Task ApplyJobAsync(string? extra = null)
    {
        var yaml = Agents.JobYaml(name: Job, orphans: "delete", extra: extra);
        if (Proxy is not null)
            yaml = yaml.Replace($"address: {Agents.Target.PeerAddress}", $"address: {Proxy.Address}", StringComparison.Ordinal);
        return Agents.ApplyAsync(yaml);
    }

    public async Task WaitMirroredAsync()
    {
        var r = await Agents.Source.CliAsync("wait", Job, "--until", "mirrored", "--timeout", "60");
        Assert.True(r.ExitCode == 0, $"wait --until mirrored: exit {r.ExitCode} {r.Stderr}{r.Stdout}\nstatus: {await StatusTextAsync()}");
    }

    public Task<JsonNode> StatusAsync() => Agents.Source.StatusAsync(Job);

    public static string State(JsonNode status) => status["state"]?.GetValue<string>() ?? "";

    /// <summary>Polls the job's status until <paramref name="condition"/> holds; returns that status.</summary>
    public async Task<JsonNode> WaitForStatusAsync(Func<JsonNode, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonNode last;
        while (!condition(last = await StatusAsync()))
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"timed out waiting for {what}; last status: {last.ToJsonString()}");
            await Task.Delay(200);
        }
        return last;
    }

    /// <summary>
    /// `wait --until idle`, then `verify --checksum` must report no difference. Investigating (ChurnTests' "missing: file is not on the target" after
    /// idle): UNDERSTUDY_CHURN_DUMP = a directory where a failed verify leaves both agents' whole logs, the churn log, and
    /// the verify repeated 10, 20 and 30 s later (do the files arrive late, or never? a fixed delay on purpose: it
    /// measures, it awaits nothing); UNDERSTUDY_CHURN_TRACE = any value
    /// turns the agents' trace lines on.
    /// </summary>
    public async Task AssertConvergedAsync(int idleTimeoutSeconds = 60)
    {
        var wait = await Agents.Source.CliAsync("wait", Job, "--until", "idle", "--timeout", idleTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(wait.ExitCode == 0,
            $"wait --until idle: exit {wait.ExitCode} {wait.Stderr}{wait.Stdout}\nstatus: {await StatusTextAsync()}\n{Churn?.LogTail()}");
        var verify = await Agents.Source.CliAsync("verify", Job, "--checksum", "--json");
        if (verify.ExitCode != 0 && Environment.GetEnvironmentVariable("UNDERSTUDY_CHURN_DUMP") is { Length: > 0 } dump)
        {
            Directory.CreateDirectory(dump);
            File.WriteAllText(Path.Combine(dump, "source.log"), Agents.Source.Log);
            File.WriteAllText(Path.Combine(dump, "target.log"), Agents.Target.Log);
            File.WriteAllText(Path.Combine(dump, "churn.log"), string.Join('\n', Churn?.Log ?? []));
            File.WriteAllText(Path.Combine(dump, "verify0.txt"), verify.Stdout + verify.Stderr);
            for (int i = 1; i <= 3; i++)
            {
                await Task.Delay(10_000);
                var again = await Agents.Source.CliAsync("verify", Job, "--checksum", "--json");
                File.WriteAllText(Path.Combine(dump, $"verify{i}.txt"), again.ExitCode + "\n" + again.Stdout + again.Stderr);
            }
            File.WriteAllText(Path.Combine(dump, "status.txt"), await StatusTextAsync());
            File.WriteAllText(Path.Combine(dump, "source-after.log"), Agents.Source.Log);
        }
        Assert.True(verify.ExitCode == 0, $"verify --checksum: exit {verify.ExitCode}\n{verify.Stdout}{verify.Stderr}\n{Churn?.LogTail()}");
    }

    /// <summary>The job's events, oldest first (`understudy events --job NAME --json`).</summary>
    public async Task<List<JsonNode>> EventsAsync()
    {
        var r = (await Agents.Source.CliAsync("events", "--job", Job, "--json", "--limit", "5000")).EnsureOk();
        return [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).OrderBy(e => (long)e["id"]!)];
    }

    public static long Id(JsonNode ev) => (long)ev["id"]!;

    public static string Describe(JsonNode ev) => $"#{ev["id"]} {ev["severity"]} [{ev["category"]} {ev["code"]}] {ev["message"]}";

    /// <summary>Polls the events until one after <paramref name="afterId"/> has one of the <paramref name="codes"/>; returns it.</summary>
    public async Task<JsonNode> WaitForEventAsync(TimeSpan timeout, string what, long afterId, params EventCode[] codes)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var events = await EventsAsync();
            if (events.FirstOrDefault(e => Id(e) > afterId && codes.Contains(e.Code())) is { } found)
                return found;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"timed out waiting for an event: {what} ({string.Join(" or ", codes)} after #{afterId}); events:\n{string.Join('\n', events.Select(Describe))}");
            await Task.Delay(250);
        }
    }

    /// <summary>No event of severity error for the job: replication must not have failed to apply anything.</summary>
    public async Task AssertNoErrorEventsAsync()
    {
        var errors = (await EventsAsync()).Where(e => (string?)e["severity"] == "error").Select(Describe).ToList();
        Assert.True(errors.Count == 0, "error events:\n" + string.Join('\n', errors));
    }

    /// <summary>The highest id so far (events after it are new).</summary>
    public async Task<long> LastEventIdAsync() => (await EventsAsync()).Select(Id).DefaultIfEmpty(0).Max();

    private async Task<string> StatusTextAsync()
    {
        try
        {
            return (await StatusAsync()).ToJsonString();
        }
        catch (Exception e) when (e is InvalidOperationException or System.Text.Json.JsonException)
        {
            return $"(status unavailable: {e.Message})";
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Churn is not null)
                _output.WriteLine($"churn seed {Churn.Seed}:\n{string.Join('\n', Churn.Log)}");
            _output.WriteLine("events:\n" + string.Join('\n', (await EventsAsync()).Select(Describe)));
        }
        catch (Exception e) when (e is InvalidOperationException or System.Text.Json.JsonException or IOException)
        {
            _output.WriteLine($"(events unavailable: {e.Message})");
        }
        _output.WriteLine("source agent log (tail):\n" + Tail(Agents.Source.Log));
        _output.WriteLine("target agent log (tail):\n" + Tail(Agents.Target.Log));
        if (Proxy is not null)
            await Proxy.DisposeAsync();
        await Agents.DisposeAsync();
    }

    private static string Tail(string log) => log.Length <= 20_000 ? log : log[^20_000..];
}
