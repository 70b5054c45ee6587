using Understudy.Core.Jobs;
using Xunit;

namespace Understudy.Core.Tests.Jobs;

public class JobFileParseTests
{
    [Fact]
    public void Parse_FullFile_GivesEveryValue()
    {
        var spec = JobFile.Parse(JobSamples.Full, "web.yaml");

        Assert.Equal("web-data", spec.Name);
        Assert.Equal(ValueList.Of("/srv/www", "/srv/shares/finance"), spec.Source.Paths);
        Assert.Equal(ValueList.Of("*.tmp", "cache/", "**/node_modules"), spec.Source.Exclude);
        Assert.Equal(new HostPort("backup1.example", 7421), spec.Target.Address);
        Assert.Equal(JobSamples.Id, spec.Target.Id);
        Assert.Equal("/srv/replica/web", spec.Target.Path);
        Assert.Equal(new MirrorSpec { Mode = MirrorMode.Checksum, Orphans = OrphanPolicy.Delete }, spec.Mirror);
        Assert.Equal(
            new ReplicationSpec { Enabled = true, QueueLimit = 2L << 30, Bandwidth = 10L << 20, Compression = Compression.Zstd, Coalesce = TimeSpan.FromMilliseconds(100), MaxHold = TimeSpan.FromSeconds(2) },
            spec.Replication);
        Assert.Equal(TimeSpan.FromHours(24), spec.Verify.Schedule);
        Assert.Equal(new RestoreSpec { Mode = RestoreMode.Checksum, Conflicts = ConflictPolicy.Manual, Replaced = ReplacedPolicy.Discard }, spec.Restore);

        var f = Assert.IsType<FailoverSpec>(spec.Failover);
        Assert.Equal(
            ValueList.Of(
                new MonitorAddress { Address = "192.0.2.10", Method = MonitorMethod.Icmp },
                new MonitorAddress { Address = "192.0.2.11", Method = MonitorMethod.Tcp, Port = 7420 },
                new MonitorAddress { Address = "192.0.2.12", Method = MonitorMethod.Tcp, Port = 7420 }),
            f.Monitor.Addresses);
        Assert.Equal(TimeSpan.FromSeconds(2), f.Monitor.Interval);
        Assert.Equal(3, f.Monitor.Misses);
        Assert.Equal(TimeSpan.FromMilliseconds(6300), f.Monitor.DetectionTime); // 3 × 2 s + the 300 ms probe timeout
        Assert.Equal(MonitorPolicy.Any, f.Monitor.Policy);
        Assert.Equal(FailoverTrigger.Automatic, f.Trigger);
        Assert.Equal(FailoverMode.Replace, f.Mode);
        Assert.Equal(ValueList.Of(new IdentityAddress { Address = "192.0.2.10/24", Interface = "eth0" }), f.Identity.Addresses);
        Assert.Equal("fileserver1", f.Identity.ServerName);
        Assert.Equal("fileserver1", f.Identity.SourceName);
        var share = Assert.Single(f.Identity.Shares);
        Assert.Equal("finance", share.Name);
        Assert.Equal("/srv/shares/finance", share.Path);
        Assert.Equal(ValueList.Of(new ShareOption("read only", "no"), new ShareOption("browseable", "yes")), share.Options);
        Assert.Equal(ValueList.Of(new NfsExportSpec { Path = "/srv/www", Clients = "*", Options = "rw,sync" }), f.Identity.NfsExports);
        Assert.Equal(ValueList.Of(new ScriptSpec { Run = "pre.sh", Timeout = TimeSpan.FromSeconds(45) }), f.Scripts.PreFailover);
        Assert.Equal(ValueList.Of(new ScriptSpec { Run = "post.sh", Timeout = TimeSpan.FromSeconds(30) }), f.Scripts.PostFailover);
        Assert.Empty(f.Scripts.PreFailback);
        Assert.False(f.Scripts.AbortOnPreFailure);
        Assert.Equal(new ArpSpec { Count = 3, Interval = TimeSpan.FromMilliseconds(100) }, f.Arp);
    }

    [Fact]
    public void Parse_MinimalFile_FillsDocumentedDefaults()
    {
        var spec = JobFile.Parse(JobSamples.Minimal, "small.yaml");

        Assert.Equal(new HostPort("backup1", 7420), spec.Target.Address);
        Assert.Empty(spec.Source.Exclude);
        Assert.Equal(MirrorMode.Different, spec.Mirror.Mode);
        Assert.Equal(OrphanPolicy.Keep, spec.Mirror.Orphans);
        Assert.True(spec.Replication.Enabled);
        Assert.Equal(1L << 30, spec.Replication.QueueLimit);
        Assert.Equal(0, spec.Replication.Bandwidth);
        Assert.Equal(Compression.Lz4, spec.Replication.Compression);
        Assert.Equal(TimeSpan.FromMilliseconds(20), spec.Replication.Coalesce);
        Assert.Equal(TimeSpan.FromSeconds(1), spec.Replication.MaxHold);
        Assert.Null(spec.Verify.Schedule);
        Assert.Null(spec.Failover);
        Assert.Equal(RestoreMode.Different, spec.Restore.Mode);
        Assert.Equal(ConflictPolicy.KeepTarget, spec.Restore.Conflicts);
        Assert.Equal(ReplacedPolicy.Keep, spec.Restore.Replaced);
        Assert.Equal(new JobSpec { Name = spec.Name, Source = spec.Source, Target = spec.Target }, spec);
    }

    [Fact]
    public void Parse_MinimalFailover_FillsSafeDefaults()
    {
        var spec = JobFile.Parse(JobSamples.Minimal + "\nfailover:\n  monitor:\n    addresses: [192.0.2.10]\n", "f.yaml");

        var f = Assert.IsType<FailoverSpec>(spec.Failover);
        Assert.Equal(ValueList.Of(new MonitorAddress { Address = "192.0.2.10", Method = MonitorMethod.Icmp }), f.Monitor.Addresses);
        Assert.Equal(TimeSpan.FromSeconds(1), f.Monitor.Interval);
        Assert.Equal(5, f.Monitor.Misses);
        Assert.Equal(MonitorPolicy.All, f.Monitor.Policy);
        Assert.Equal(FailoverTrigger.Manual, f.Trigger);
        Assert.Equal(FailoverMode.Add, f.Mode);
        Assert.Null(f.Identity.ServerName);
        Assert.True(f.Scripts.AbortOnPreFailure);
        Assert.Equal(5, f.Arp.Count);
        Assert.Equal(TimeSpan.FromMilliseconds(200), f.Arp.Interval);
    }

    [Theory]
    [InlineData("backup1.example:7420", "backup1.example", 7420)]
    [InlineData("BACKUP1", "backup1", 7420)]
    [InlineData("10.0.0.5:9000", "10.0.0.5", 9000)]
    [InlineData("\"[::1]:7421\"", "::1", 7421)]
    [InlineData("\"[2001:db8::1]\"", "2001:db8::1", 7420)]
    public void Parse_TargetAddress_AcceptsHostPortForms(string yaml, string host, int port)
    {
        var spec = JobFile.Parse(JobSamples.Minimal.Replace("address: backup1", "address: " + yaml, StringComparison.Ordinal), "a.yaml");
        Assert.Equal(new HostPort(host, port), spec.Target.Address);
    }

    [Fact]
    public void Parse_ServerNameAsString_TakesThatName()
    {
        var spec = JobFile.Parse(JobSamples.Minimal + "\nfailover:\n  monitor: { addresses: [192.0.2.10] }\n  identity: { server_name: oldfs }\n", "f.yaml");
        Assert.Equal("oldfs", spec.Failover!.Identity.ServerName);
        Assert.Null(spec.Failover.Identity.SourceName);
    }

    [Fact]
    public void Parse_VerifyScheduleNone_IsNull()
    {
        var spec = JobFile.Parse(JobSamples.Minimal + "\nverify: { schedule: none }\n", "v.yaml");
        Assert.Null(spec.Verify.Schedule);
    }

    [Fact]
    public void TargetDirFor_SeveralSourcePaths_UsesBasenameSubdirectories()
    {
        var spec = JobFile.Parse(JobSamples.Full, "web.yaml");

        Assert.True(spec.UsesSubdirectories);
        Assert.Equal("/srv/replica/web/www", spec.TargetDirFor("/srv/www"));
        Assert.Equal("/srv/replica/web/finance", spec.TargetDirFor("/srv/shares/finance"));
        Assert.True(spec.TryMapToTarget("/srv/shares/finance/2024/q1", out var mapped));
        Assert.Equal("/srv/replica/web/finance/2024/q1", mapped);
        Assert.False(spec.TryMapToTarget("/srv/wwwx", out _));
        Assert.Throws<ArgumentException>(() => spec.TargetDirFor("/srv"));
    }

    [Fact]
    public void TargetDirFor_OneSourcePath_LandsDirectlyInTargetPath()
    {
        var spec = JobFile.Parse(JobSamples.Minimal, "small.yaml");

        Assert.False(spec.UsesSubdirectories);
        Assert.Equal("/srv/replica/web", spec.TargetDirFor("/srv/www"));
        Assert.True(spec.TryMapToTarget("/srv/www/a/b", out var mapped));
        Assert.Equal("/srv/replica/web/a/b", mapped);
    }
}
