using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Agent.Tests.Failover;
using Understudy.Agent.Witness;
using Understudy.Core.Jobs;
using Xunit;

namespace Understudy.Agent.Tests.Witness;

/// <summary>
/// What a source fenced by its witness gives up (issue 22, item 1: "drops the job's service addresses, shares and
/// exports"), as the commands it runs: the lab has no kernel NFS server, so the NFS part is checked here.
/// </summary>
public sealed class SourceFenceTests : IDisposable
{
    private readonly StoreHarness _h = new();
    private readonly AgentIdentity _identity;
    private readonly FakeCommandRunner _commands = new();
    private readonly SourceFence _fence;

    public SourceFenceTests()
    {
        _identity = AgentIdentity.LoadOrCreate(Directory.CreateDirectory(Path.Combine(_h.Dir, "id")).FullName);
        var ctx = new AgentContext(_identity, "src", _h.Dir, _h.Store, _h.Events, TimeProvider.System, new LoopSupervisor(_h.Events, TimeProvider.System));
        _fence = new SourceFence(ctx, _commands, _h.Options, (_, _) => Task.FromResult<string?>(null));
    }

    private static JobSpec Spec(string exports) => JobFile.Parse($$"""
        name: web
        source:
          paths: [/srv/www]
        target:
          address: backup1
          id: {{new string('a', 64)}}
          path: /srv/replica/web
        failover:
          monitor:
            addresses: [192.0.2.10]
          identity:
            addresses: [ { address: 192.0.2.10/24, interface: eth0 } ]
            nfs_exports: {{exports}}
          witness: { endpoints: ["http://192.0.2.50:2379"], lease: 3s, renew: 1s }
        """, "web.yaml");

    [Fact]
    public async Task Fence_UnexportsEachClientOfEachNfsExport_AfterTheAddress_Unfence_ExportsWhatTheAdminDeclared()
    {
        _commands.Respond = (file, args) => file == "ip" && args[0] == "-o"
            ? new CommandResult(0, "2: eth0    inet 192.0.2.10/24 scope global eth0\\       valid_lft forever preferred_lft forever\n", false)
            : new CommandResult(0, "", false);
        var spec = Spec("""[ { path: /srv/www/pub, clients: "192.0.2.0/24,client1" }, { path: /srv/www/ro, options: ro } ]""");

        await _fence.FenceAsync(spec, "test", CancellationToken.None);

        Assert.Equal(
        [
            "ip -o addr show scope global",
            "ip addr del 192.0.2.10/24 dev eth0",
            "exportfs -u 192.0.2.0/24:/srv/www/pub",
            "exportfs -u client1:/srv/www/pub",
            "exportfs -u *:/srv/www/ro",
        ], _commands.Lines);
        var fenced = _h.EventsOf("web").Single(e => e.Code == EventCode.WitnessFenced);
        Assert.Contains("NFS exports 192.0.2.0/24:/srv/www/pub, client1:/srv/www/pub, *:/srv/www/ro (exportfs -u)", fenced.Message, StringComparison.Ordinal);
        Assert.True(_fence.IsFenced("web"));

        Assert.True(await _fence.UnfenceAsync(spec, CancellationToken.None));
        Assert.Equal("exportfs -r", _commands.Lines[^1]);
        Assert.False(_fence.IsFenced("web"));
    }

    [Fact]
    public async Task Fence_ExportNotThere_IsNotAFailure_NoExportfs_SaysWhatToStopByHand()
    {
        var spec = Spec("""[ { path: /srv/www/pub } ]""");
        _commands.Respond = (file, _) => file == "exportfs" ? new CommandResult(1, "exportfs: Could not find '*:/srv/www/pub' to unexport.", false) : new CommandResult(0, "", false);
        await _fence.FenceAsync(spec, "test", CancellationToken.None);
        Assert.Contains("no NFS export *:/srv/www/pub (not exported here)", _h.EventsOf("web").Single(e => e.Code == EventCode.WitnessFenced).Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_h.EventsOf("web"), e => e.Code == EventCode.WitnessFenceFailed);

        _fence.Forget("web");
        _commands.Respond = (file, _) => file == "exportfs" ? new CommandResult(127, "cannot run exportfs: No such file or directory", false) : new CommandResult(0, "", false);
        await _fence.FenceAsync(spec, "test", CancellationToken.None);
        var failed = _h.EventsOf("web").Single(e => e.Code == EventCode.WitnessFenceFailed);
        Assert.Contains("no kernel NFS server here; stop the exports of /srv/www/pub in the NFS server that serves them", failed.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _identity.Dispose();
        _h.Dispose();
    }
}
