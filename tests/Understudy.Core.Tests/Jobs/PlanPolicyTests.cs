using Understudy.Core.Jobs;
using Xunit;

namespace Understudy.Core.Tests.Jobs;

/// <summary>
/// Issue 19, item 2: a fail-over plan comes from the source and runs as root on the target, so what the target accepts
/// is checked value by value — as a job file on the source (`job check`) and as the JSON the target receives.
/// </summary>
public sealed class PlanPolicyTests
{
    private static JobFileException ParseError(string failover) =>
        Assert.Throws<JobFileException>(() => JobFile.Parse(JobSamples.Minimal + "failover:\n  monitor: { addresses: [192.0.2.10] }\n" + failover, "job.yaml"));

    /// <summary>What the target does with a spec received in OpenJob: deserialize, validate.</summary>
    private static JobFileException ReceivedError(Func<FailoverSpec, FailoverSpec> plan)
    {
        var spec = JobFile.Parse(JobSamples.Minimal + "failover:\n  monitor: { addresses: [192.0.2.10] }\n", "job.yaml");
        var hostile = spec with { Failover = plan(spec.Failover!) };
        var received = JobSpecJson.Deserialize(JobSpecJson.Serialize(hostile));
        return Assert.Throws<JobFileException>(received.Validate);
    }

    [Theory]
    [InlineData("root preexec", "/bin/sh -c id")]
    [InlineData("rootpreexec", "/bin/sh -c id")]
    [InlineData("preexec", "touch /tmp/x")]
    [InlineData("directory", "/")]
    [InlineData("wide links", "yes")]
    [InlineData("admin users", "everyone")]
    [InlineData("include", "/etc/passwd")]
    public void ShareOption_NotOnTheAllowList_IsRefused(string name, string value)
    {
        var e = ReceivedError(f => f with { Identity = f.Identity with { Shares = ValueList.Of(new ShareSpec { Name = "x", Path = "/srv/www", Options = ValueList.Of(new ShareOption(name, value)) }) } });
        Assert.Equal("failover.identity.shares[0].options", e.KeyPath);
        Assert.Contains("not on the target's list of share options", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("read only", "no\nroot preexec = id", "line break")]
    [InlineData("comment", "x\\", "backslash")]
    [InlineData("vfs objects", "acl_xattr widelinks", "widelinks")]
    public void ShareOption_BadValue_IsRefused(string name, string value, string reason)
    {
        var e = ReceivedError(f => f with { Identity = f.Identity with { Shares = ValueList.Of(new ShareSpec { Name = "x", Path = "/srv/www", Options = ValueList.Of(new ShareOption(name, value)) }) } });
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShareOptions_OnTheAllowList_AreAccepted()
    {
        var spec = JobFile.Parse(JobSamples.Minimal + "failover:\n  monitor: { addresses: [192.0.2.10] }\n  identity:\n    shares:\n"
            + "      - { name: x, path: /srv/www, options: { \"read only\": \"no\", \"valid users\": \"@staff\", \"vfs objects\": \"acl_xattr streams_xattr\", \"Force Group\": staff } }\n", "job.yaml");
        Assert.Equal(4, spec.Failover!.Identity.Shares[0].Options.Count);
    }

    [Theory]
    [InlineData("*; } } EXPORT { Path = \"/\"; Squash = No_Root_Squash; CLIENT { Clients = *")]
    [InlineData("192.0.2.0/24;")]
    [InlineData("a\"b")]
    [InlineData("a{b}")]
    public void NfsClients_ThatWouldInjectConfig_AreRefused(string clients)
    {
        var e = ReceivedError(f => f with { Identity = f.Identity with { NfsExports = ValueList.Of(new NfsExportSpec { Path = "/srv/www", Clients = clients }) } });
        Assert.Equal("failover.identity.nfs_exports[0].clients", e.KeyPath);
    }

    [Fact]
    public void NfsOptions_OffTheAllowList_AreRefused()
    {
        var e = ReceivedError(f => f with { Identity = f.Identity with { NfsExports = ValueList.Of(new NfsExportSpec { Path = "/srv/www", Options = "rw,fsid=0" }) } });
        Assert.Equal("failover.identity.nfs_exports[0].options", e.KeyPath);
        Assert.Contains("'fsid=0' not allowed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ServedPath_WithAQuoteOrLineBreak_IsRefused()
    {
        var spec = JobFile.Parse(JobSamples.Minimal.Replace("/srv/www]", "/srv/www, \"/srv/a\\\"b\"]", StringComparison.Ordinal), "job.yaml");
        var hostile = spec with
        {
            Failover = new FailoverSpec
            {
                Monitor = new MonitorSpec { Addresses = ValueList.Of(new MonitorAddress { Address = "192.0.2.10" }) },
                Identity = new IdentitySpec { NfsExports = ValueList.Of(new NfsExportSpec { Path = "/srv/a\"b" }) }
            }
        };
        var e = Assert.Throws<JobFileException>(JobSpecJson.Deserialize(JobSpecJson.Serialize(hostile)).Validate);
        Assert.Equal("failover.identity.nfs_exports[0].path", e.KeyPath);
    }

    [Theory]
    [InlineData("/usr/local/bin/pre.sh", "is an absolute path")]
    [InlineData("../../srv/replica/web/evil.sh", "leaves or misnames a directory")]
    [InlineData("app/../../evil.sh", "leaves or misnames a directory")]
    public void Script_OutsideTheScriptsDirectory_IsRefused(string run, string reason)
    {
        var e = ParseError($"  scripts:\n    pre_failover: [ {{ run: \"{run}\" }} ]\n");
        Assert.Equal("failover.scripts.pre_failover[0].run", e.KeyPath);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Contains("scripts directory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Script_NamedInTheScriptsDirectory_IsAccepted()
    {
        var spec = JobFile.Parse(JobSamples.Minimal + "failover:\n  monitor: { addresses: [192.0.2.10] }\n  scripts:\n    pre_failover: [ stop-app.sh, { run: app/start, timeout: 5s } ]\n", "job.yaml");
        Assert.Equal(["stop-app.sh", "app/start"], spec.Failover!.Scripts.PreFailover.Select(s => s.Run));
    }
}
