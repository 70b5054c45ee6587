using Understudy.Core.Jobs;
using Xunit;

namespace Understudy.Core.Tests.Jobs;

/// <summary><c>failover.witness</c>: parsing, its default trigger, and the timing rules checked at job apply.</summary>
public class WitnessSpecTests
{
    private static string Job(string witness, string monitor = "interval: 1s\n    misses: 5", string trigger = "") =>
        JobSamples.Minimal + $"failover:\n  monitor:\n    addresses: [192.0.2.10]\n    {monitor}\n{trigger}  witness:\n{witness}";

    private static JobFileException Error(string yaml) => Assert.Throws<JobFileException>(() => JobFile.Parse(yaml, "job.yaml"));

    [Fact]
    public void Witness_ParsesWithDefaults_AndMakesAutomaticTheDefaultTrigger()
    {
        var spec = JobFile.Parse(Job("    endpoints: [http://192.0.2.50:2379, \"http://192.0.2.51:2379\"]\n"), "job.yaml");

        var w = spec.Failover!.Witness!;
        Assert.Equal(["http://192.0.2.50:2379", "http://192.0.2.51:2379"], w.Endpoints);
        Assert.Equal(TimeSpan.FromSeconds(10), w.Lease);
        Assert.Equal(TimeSpan.FromSeconds(2), w.Renew);
        Assert.Equal("/understudy/", w.Prefix);
        Assert.Equal(FailoverTrigger.Automatic, spec.Failover.Trigger);
        Assert.Equal(spec, JobFile.Parse(JobFile.ToYaml(spec), "again.yaml"));
    }

    [Fact]
    public void Witness_ExplicitManualTrigger_Stays()
    {
        var spec = JobFile.Parse(Job("    endpoints: [http://192.0.2.50:2379]\n", trigger: "  trigger: manual\n"), "job.yaml");
        Assert.Equal(FailoverTrigger.Manual, spec.Failover!.Trigger);
    }

    [Fact]
    public void NoWitness_TriggerStaysManual()
    {
        var spec = JobFile.Parse(JobSamples.Minimal + "failover:\n  monitor:\n    addresses: [192.0.2.10]\n", "job.yaml");
        Assert.Equal(FailoverTrigger.Manual, spec.Failover!.Trigger);
        Assert.Null(spec.Failover.Witness);
    }

    [Theory]
    [InlineData("    endpoints: []\n", "failover.witness.endpoints", "required: the etcd cluster's client URLs")]
    [InlineData("    endpoints: [192.0.2.50:2379]\n", "failover.witness.endpoints[0]", "expected an etcd client URL")]
    [InlineData("    endpoints: [http://e:2379/v3]\n", "failover.witness.endpoints[0]", "no path")]
    [InlineData("    endpoints: [http://e:2379, http://e:2379]\n", "failover.witness.endpoints", "listed twice")]
    [InlineData("    endpoints: [http://e:2379]\n    lease: 1s\n    renew: 200ms\n", "failover.witness.lease", "expected a duration from 2s to 10m")]
    [InlineData("    endpoints: [http://e:2379]\n    lease: 2500ms\n    renew: 500ms\n", "failover.witness.lease", "whole seconds")]
    [InlineData("    endpoints: [http://e:2379]\n    lease: 6s\n    renew: 3s\n", "failover.witness.renew", "at most a third of the lease (6s), got 3s")]
    [InlineData("    endpoints: [http://e:2379]\n    lease: 30s\n    renew: 5s\n", "failover.witness.lease", "more than four times the monitor's detection time (interval × misses = 5s)")]
    [InlineData("    endpoints: [http://e:2379]\n    prefix: understudy\n", "failover.witness.prefix", "starts and ends with '/'")]
    [InlineData("    endpoints: [http://e:2379]\n    ttl: 5s\n", "failover.witness.ttl", "unknown key")]
    public void Witness_TimingAndShapeRules_AreCheckedWithTheKey(string witness, string key, string words)
    {
        var e = Error(Job(witness));
        Assert.Equal(key, e.KeyPath);
        Assert.Contains(words, e.Message, StringComparison.Ordinal);
    }
}
