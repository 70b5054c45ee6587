using Understudy.Core.Jobs;
using Xunit;

namespace Understudy.Core.Tests.Jobs;

/// <summary>Service probes and weights in <c>failover.monitor</c>: what parses, and what is refused with which key.</summary>
public class MonitorProbeSpecTests
{
    private static string Monitor(string addresses, string extra = "") =>
        JobSamples.Minimal + "failover:\n  monitor:\n    interval: 1s\n    timeout: 1s\n" + extra + "    addresses:\n" + addresses;

    private static JobFileException Error(string yaml) => Assert.Throws<JobFileException>(() => JobFile.Parse(yaml, "job.yaml"));

    [Fact]
    public void ServiceProbes_ParseWithTheirDefaults_AndWeights()
    {
        var spec = JobFile.Parse(Monitor("""
                  - { address: 192.0.2.10, method: http, path: /health, status: "200,204", body: ok, weight: 2 }
                  - { address: 192.0.2.10, method: https }
                  - { address: 192.0.2.10, method: smb, share: data, file: probe/canary.txt, credentials: /etc/understudy/smb.auth, weight: 3 }
                  - { address: 192.0.2.10, method: nfs }
                  - { address: 192.0.2.10, method: script, run: checks/db-alive.sh, weight: 4 }
            """, "    policy: weight\n    threshold: 3\n"), "job.yaml");

        var m = spec.Failover!.Monitor;
        Assert.Equal(MonitorPolicy.Weight, m.Policy);
        Assert.Equal(3, m.Threshold);
        Assert.Equal(new MonitorAddress { Address = "192.0.2.10", Method = MonitorMethod.Http, Port = 80, Path = "/health", Status = "200,204", Body = "ok", Weight = 2 }, m.Addresses[0]);
        Assert.Equal(new MonitorAddress { Address = "192.0.2.10", Method = MonitorMethod.Https, Port = 443, Path = "/" }, m.Addresses[1]);
        Assert.Equal(new MonitorAddress { Address = "192.0.2.10", Method = MonitorMethod.Smb, Share = "data", File = "probe/canary.txt", Credentials = "/etc/understudy/smb.auth", Weight = 3 }, m.Addresses[2]);
        Assert.Equal(new MonitorAddress { Address = "192.0.2.10", Method = MonitorMethod.Nfs, Port = 2049 }, m.Addresses[3]);
        Assert.Equal("192.0.2.10 (http port 80/health)", m.Addresses[0].Label);
        Assert.Equal("192.0.2.10 (smb share data/probe/canary.txt)", m.Addresses[2].Label);
        Assert.Equal(new MonitorAddress { Address = "192.0.2.10", Method = MonitorMethod.Script, Run = "checks/db-alive.sh", Weight = 4 }, m.Addresses[4]);
        Assert.Equal("192.0.2.10 (script checks/db-alive.sh)", m.Addresses[4].Label);
        // Written back (job show, the stored copy) with every probe key, and read again the same.
        Assert.Equal(spec, JobFile.Parse(JobFile.ToYaml(spec), "job.yaml"));
    }

    [Theory]
    [InlineData("  - { address: 192.0.2.10, method: smb, share: data, file: \"a;rm -rf x\" }", "failover.monitor.addresses[0].file")]
    [InlineData("  - { address: 192.0.2.10, method: smb, share: data, file: ../etc/passwd }", "failover.monitor.addresses[0].file")]
    [InlineData("  - { address: 192.0.2.10, method: smb, share: \"da\\\"ta\" }", "failover.monitor.addresses[0].share")]
    [InlineData("  - { address: 192.0.2.10, method: smb }", "failover.monitor.addresses[0].share")]
    [InlineData("  - { address: 192.0.2.10, method: smb, share: data, credentials: smb.auth }", "failover.monitor.addresses[0].credentials")]
    [InlineData("  - { address: 192.0.2.10, method: http, path: \"/a b\" }", "failover.monitor.addresses[0].path")]
    [InlineData("  - { address: 192.0.2.10, method: http, path: health }", "failover.monitor.addresses[0].path")]
    [InlineData("  - { address: 192.0.2.10, method: http, status: 2xx }", "failover.monitor.addresses[0].status")]
    [InlineData("  - { address: 192.0.2.10, method: http, status: 399-200 }", "failover.monitor.addresses[0].status")]
    [InlineData("  - { address: 192.0.2.10, method: tcp, share: data }", "failover.monitor.addresses[0].share")]
    [InlineData("  - { address: 192.0.2.10, method: icmp, path: / }", "failover.monitor.addresses[0].path")]
    [InlineData("  - { address: 192.0.2.10, weight: 2 }", "failover.monitor.addresses[0].weight")]
    [InlineData("  - { address: 192.0.2.10, method: script }", "failover.monitor.addresses[0].run")]
    [InlineData("  - { address: 192.0.2.10, method: script, run: /usr/local/bin/check }", "failover.monitor.addresses[0].run")]
    [InlineData("  - { address: 192.0.2.10, method: script, run: ../check }", "failover.monitor.addresses[0].run")]
    [InlineData("  - { address: 192.0.2.10, method: script, run: check, port: 80 }", "failover.monitor.addresses[0].port")]
    [InlineData("  - { address: 192.0.2.10, method: http, run: check }", "failover.monitor.addresses[0].run")]
    public void BadProbeValues_AreRefused_NamingTheKey(string address, string key)
    {
        var e = Error(Monitor("    " + address + "\n"));
        Assert.Equal(key, e.KeyPath);
    }

    [Fact]
    public void PolicyWeight_NeedsAThreshold_WithinTheTotalWeight()
    {
        var addresses = "      - { address: 192.0.2.10, weight: 2 }\n      - { address: 192.0.2.11 }\n";
        var missing = Error(Monitor(addresses, "    policy: weight\n"));
        Assert.Equal("failover.monitor.threshold", missing.KeyPath);
        var tooHigh = Error(Monitor(addresses, "    policy: weight\n    threshold: 4\n"));
        Assert.Contains("expected 1 to 3", tooHigh.Message, StringComparison.Ordinal);
        var unused = Error(Monitor("      - { address: 192.0.2.10 }\n", "    threshold: 1\n"));
        Assert.Equal("failover.monitor.threshold", unused.KeyPath);
    }

    [Fact]
    public void SmbProbe_WithAShortTimeout_IsRefused()
    {
        var yaml = JobSamples.Minimal + "failover:\n  monitor:\n    interval: 500ms\n    addresses: [ { address: 192.0.2.10, method: smb, share: data } ]\n";
        var e = Error(yaml);
        Assert.Equal("failover.monitor.timeout", e.KeyPath);
        Assert.Contains("smbclient", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSameAddress_ProbedTwoWays_IsAllowed_TheSameWayTwice_IsNot()
    {
        JobFile.Parse(Monitor("      - { address: 192.0.2.10, method: tcp }\n      - { address: 192.0.2.10, method: http }\n"), "job.yaml");
        var e = Error(Monitor("      - { address: 192.0.2.10, method: http }\n      - { address: 192.0.2.10, method: http, path: / }\n"));
        Assert.Contains("watched twice the same way", e.Message, StringComparison.Ordinal);
    }
}
