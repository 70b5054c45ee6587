using System.Net;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Observability;

/// <summary>GET /metrics on real agents (docs/monitoring.md): a source replicating to a target that monitors it,
/// scraped as Prometheus does, the values checked against what the agents do, and the text against promtool.</summary>
public sealed class MetricsAgentTests
{
    private static async Task<AgentPair> StartPairAsync(bool targetAnonymousLoopback = false, string? witness = null)
    {
        var pair = new AgentPair();
        if (targetAnonymousLoopback)
            pair.Target.ExtraArgs.Add("--metrics-anonymous-loopback");
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "hello");
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml(
            witness is null ? "" : $"  witness: {{ endpoints: [{witness}], lease: 2s, renew: 500ms, prefix: /metrics-test/ }}")));
        await pair.WaitMirroredAsync();
        return pair;
    }

    [Fact]
    public async Task Metrics_NeedATokenUnlessAllowedOnLoopback_AndTheMetricsTokenReadsNothingElse()
    {
        await using var pair = await StartPairAsync(targetAnonymousLoopback: true);
        var src = pair.Source;
        Assert.Equal(HttpStatusCode.Unauthorized, (await src.GetAsync("/metrics", null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await src.GetAsync("/metrics", "wrong")).Status);
        var ok = await src.GetAsync("/metrics", src.MetricsToken());
        Assert.Equal(HttpStatusCode.OK, ok.Status);
        Assert.StartsWith("text/plain; version=0.0.4", ok.ContentType, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await src.GetAsync("/metrics", src.ApiToken())).Status);
        // Read-only: the metrics token opens /metrics and nothing of the API.
        Assert.Equal(HttpStatusCode.Unauthorized, (await src.GetAsync("/api/v1/status", src.MetricsToken())).Status);
        // The target was started with --metrics-anonymous-loopback: a local scraper needs no token.
        Assert.Equal(HttpStatusCode.OK, (await pair.Target.GetAsync("/metrics", null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await pair.Target.GetAsync("/api/v1/status", null)).Status);
    }

    [Fact]
    public async Task Metrics_ShowStateLagVerifyAndFailover_AsTheAgentsSeeThem()
    {
        await using var pair = await StartPairAsync();
        var src = pair.Source;
        (await src.CliAsync("verify", "job1")).EnsureOk();

        var text = await src.ScrapeAsync();
        Assert.Equal(1, MetricsScrape.Value(text, "understudy_job_mirrored{job=\"job1\"}"));
        Assert.Equal(1, MetricsScrape.Value(text, "understudy_verify_last_identical{job=\"job1\"}"));
        Assert.Equal(0, MetricsScrape.Value(text, "understudy_verify_last_differences{job=\"job1\"}"));
        Assert.Equal(1, MetricsScrape.Value(text, "understudy_loop_up{loop=\"job\",job=\"job1\"}"));
        Assert.Equal(1, MetricsScrape.Value(text, "understudy_loop_up{loop=\"notifier\",job=\"\"}"));
        Assert.Equal(1, MetricsScrape.Value(text, "understudy_loop_up{loop=\"replication\",job=\"job1\"}")); // the supervisor's
        Assert.True(MetricsScrape.Value(text, "understudy_job_sent_bytes_total{job=\"job1\"}") > 0, text);
        Assert.True(MetricsScrape.Value(text, "understudy_event_log_events") > 0, text);
        Assert.Equal(1, MetricsScrape.Samples(text).Where(kv => kv.Key.StartsWith("understudy_job_state{job=\"job1\"", StringComparison.Ordinal)).Sum(kv => kv.Value));

        // Lag: changes held back by a pause are counted, in operations and seconds, until replication resumes.
        (await src.CliAsync("pause", "job1")).EnsureOk();
        for (int i = 0; i < 3; i++)
            File.WriteAllText(Path.Combine(pair.SourceData, $"lag-{i}.txt"), new string('x', 100));
        // Captured changes are counted at once; bytes and age once the coalescer has queued them.
        await Wait.UntilAsync(async () =>
        {
            text = await src.ScrapeAsync();
            return MetricsScrape.Value(text, "understudy_replication_lag_operations{job=\"job1\"}") >= 3
                && MetricsScrape.Value(text, "understudy_replication_lag_bytes{job=\"job1\"}") > 0
                && MetricsScrape.Value(text, "understudy_replication_lag_seconds{job=\"job1\"}") > 0;
        }, TimeSpan.FromSeconds(30), "the paused job's queued changes in /metrics");
        Assert.Equal(1, MetricsScrape.Value(text, "understudy_replication_paused{job=\"job1\"}"));
        Assert.True(MetricsScrape.Value(text, "understudy_replication_queue_last_sequence{job=\"job1\"}")
            > MetricsScrape.Value(text, "understudy_replication_queue_acknowledged_sequence{job=\"job1\"}"), text);
        (await src.CliAsync("resume", "job1")).EnsureOk();
        await Wait.UntilAsync(async () => MetricsScrape.Value(await src.ScrapeAsync(), "understudy_replication_lag_operations{job=\"job1\"}") == 0,
            TimeSpan.FromSeconds(60), "the lag to drain after resume");
        Assert.Equal(0, MetricsScrape.Value(await src.ScrapeAsync(), "understudy_replication_lag_seconds{job=\"job1\"}"));

        // The target: the hosted job, the monitor and the fail-over state.
        var tgt = pair.Target;
        await Wait.UntilAsync(async () => MetricsScrape.Value(await tgt.ScrapeAsync(), "understudy_failover_monitor_address_up{job=\"job1\",source=\"src\",address=\"127.0.0.1\",method=\"tcp\"}") == 1,
            TimeSpan.FromSeconds(30), "the monitor to see the source");
        text = await tgt.ScrapeAsync();
        Assert.Equal(1, MetricsScrape.Value(text, "understudy_failover_state{job=\"job1\",source=\"src\",state=\"protecting\"}"));
        Assert.Equal(1, MetricsScrape.Value(text, $"understudy_hosted_job_connected{{job=\"job1\",source=\"src\",source_id=\"{src.Id}\"}}"));
        Assert.Equal(1, MetricsScrape.Value(text, "understudy_loop_up{loop=\"failover-monitor\",job=\"job1\"}"));
        Assert.Null(MetricsScrape.Value(text, "understudy_loop_up{loop=\"witness-release\",job=\"job1\"}")); // no witness, no loop
        Assert.True(MetricsScrape.Value(text, "understudy_peer_connections") >= 1, text);

        pair.Source.Kill();
        await Wait.UntilAsync(async () => MetricsScrape.Value(await tgt.ScrapeAsync(), "understudy_failover_state{job=\"job1\",source=\"src\",state=\"fail-over-pending\"}") == 1,
            TimeSpan.FromSeconds(30), "fail-over pending in /metrics");
        text = await tgt.ScrapeAsync();
        Assert.Equal(0, MetricsScrape.Value(text, "understudy_failover_state{job=\"job1\",source=\"src\",state=\"protecting\"}"));
        Assert.True(MetricsScrape.Value(text, "understudy_failover_monitor_misses{job=\"job1\",source=\"src\",address=\"127.0.0.1\",method=\"tcp\"}") >= 3, text);
        Assert.Equal(0, MetricsScrape.Value(text, $"understudy_hosted_job_connected{{job=\"job1\",source=\"src\",source_id=\"{src.Id}\"}}"));
    }

    /// <summary>With a witness, the target's engine also runs the supervised loop that gives the key back when owed.</summary>
    [Fact]
    public async Task Metrics_WithAWitness_ShowTheTargetsWitnessReleaseLoop()
    {
        using var etcd = new LoopbackEtcd();
        await etcd.StartAsync();
        await using var pair = await StartPairAsync(witness: etcd.Endpoint);
        var text = "";
        await Wait.UntilAsync(async () => MetricsScrape.Value(text = await pair.Target.ScrapeAsync(), "understudy_loop_up{loop=\"failover-monitor\",job=\"job1\"}") == 1,
            TimeSpan.FromSeconds(30), "the hosted job's engine in /metrics");
        Assert.True(MetricsScrape.Value(text, "understudy_loop_up{loop=\"witness-release\",job=\"job1\"}") == 1, text);
        if (Promtool.Path is not null)
            Assert.Null(await MetricsScrape.PromtoolCheckAsync(text));
    }

    [PromtoolFact]
    public async Task Metrics_PassPromtoolCheck_OnBothAgents()
    {
        await using var pair = await StartPairAsync();
        File.WriteAllText(Path.Combine(pair.Target.DataDir, "notify.yaml"), "destinations: [ { name: log, exec: { run: /bin/true } } ]\n");
        (await pair.Target.CliAsync("notify", "reload")).EnsureOk();
        (await pair.Source.CliAsync("verify", "job1")).EnsureOk();
        foreach (var agent in new[] { pair.Source, pair.Target })
        {
            var text = await agent.ScrapeAsync();
            Assert.Null(await MetricsScrape.PromtoolCheckAsync(text));
        }
    }

    [PromtoolFact]
    public async Task ShippedAlertRules_PassPromtoolCheckRules()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Understudy.slnx")))
            dir = dir.Parent;
        Assert.NotNull(dir);
        var rules = Path.Combine(dir.FullName, "deploy", "prometheus", "understudy.rules.yml");
        var psi = new System.Diagnostics.ProcessStartInfo(Promtool.Path ?? "promtool") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("check");
        psi.ArgumentList.Add("rules");
        psi.ArgumentList.Add(rules);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(p.ExitCode == 0, await o + await e);
    }
}
