using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;
using static Understudy.Agent.Tests.Failback.FailbackAgentTests;

namespace Understudy.Agent.Tests.Failback;

/// <summary>
/// A write a client had in flight when the fail-back stopped writes must still reach the source. smbd applies
/// <c>read only = yes</c> and its reload asynchronously, so a client connected before can finish a write after the final
/// sync (chaos seeds 20021 and 20022: one acknowledged write each, acknowledged 10–40 ms after the final sync, was on
/// neither host after the fail-back); NFS exports have no read-only stage at all. Here smbd is a stand-in
/// <c>smbcontrol</c> on the target agent's PATH that, at the reload which takes the share away (the release of the identity),
/// completes such a write into the replica, as smbd would.
/// </summary>
public sealed class FailbackLastSyncTests
{
    private const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    [Fact]
    public async Task AWriteCompletedAsTheShareIsReleased_ReachesTheSource()
    {
        await using var pair = NewPair();
        var root = Path.GetDirectoryName(pair.TargetData)!;
        var bin = Directory.CreateDirectory(Path.Combine(root, "fake-bin")).FullName;
        var include = Directory.CreateDirectory(Path.Combine(root, "samba-include")).FullName;
        var smbConf = Path.Combine(root, "smb.conf");
        File.WriteAllText(smbConf, "[global]\n   workgroup = TEST\n");
        var armed = Path.Combine(root, "armed");
        var late = Path.Combine(pair.TargetData, "late.txt");
        // The stand-in for smbd: once armed, the reload after which no share [data] is defined any more writes the file
        // a client was writing when writes stopped.
        var smbcontrol = Path.Combine(bin, "smbcontrol");
        File.WriteAllText(smbcontrol, $"""
            #!/bin/sh
            if [ -f '{armed}' ] && ! grep -qs '^\[data\]' '{include}'/*.conf; then
                printf 'written as the share went away' > '{late}'
                rm -f '{armed}'
            fi
            exit 0

            """);
        File.SetUnixFileMode(smbcontrol, Executable);
        // No periodic restore rounds after the first (the default is a few seconds; one could carry the write by chance
        // before the fail-back ends): only the fail-back's own rounds may.
        pair.Target.Environment["UNDERSTUDY_RESTORE_SYNC_MS"] = "600000";
        pair.Target.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        pair.Target.Environment["UNDERSTUDY_SMB_CONF"] = smbConf;
        pair.Target.Environment["UNDERSTUDY_SMB_INCLUDE_DIR"] = include;
        pair.Target.Environment["UNDERSTUDY_SET_HOSTNAME"] = "0";
        // The source's side of the shares (made unavailable while failed over) goes to files of its own and a no-op smbcontrol.
        var sourceBin = Directory.CreateDirectory(Path.Combine(root, "fake-bin-source")).FullName;
        File.WriteAllText(Path.Combine(sourceBin, "smbcontrol"), "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(Path.Combine(sourceBin, "smbcontrol"), Executable);
        File.WriteAllText(Path.Combine(root, "smb-source.conf"), "[global]\n   workgroup = TEST\n");
        pair.Source.Environment["PATH"] = sourceBin + ":" + Environment.GetEnvironmentVariable("PATH");
        pair.Source.Environment["UNDERSTUDY_SMB_CONF"] = Path.Combine(root, "smb-source.conf");
        pair.Source.Environment["UNDERSTUDY_SMB_INCLUDE_DIR"] = Directory.CreateDirectory(Path.Combine(root, "samba-include-source")).FullName;
        pair.Source.Environment["UNDERSTUDY_SET_HOSTNAME"] = "0";
        await pair.StartAsync();

        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "before the fail-over");
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml($$"""
              identity:
                shares: [ { name: data, path: {{pair.SourceData}} } ]
            """)));
        await pair.WaitMirroredAsync();
        await Wait.UntilAsync(async () => await pair.Target.FailoverStateAsync("job1") == "protecting", TimeSpan.FromSeconds(30), "monitoring");
        await pair.Target.ApproveFailoverAsync("job1");
        (await pair.Target.CliAsync("failover", "job1")).EnsureOk();
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() == "failed-over (passive)",
            TimeSpan.FromSeconds(30), "the source to turn passive");
        Assert.Contains("[data]", File.ReadAllText(Path.Combine(include, "shares.conf")), StringComparison.Ordinal);

        (await pair.Target.CliAsync("restore", "job1", "--wait", "--timeout", "120")).EnsureOk();
        File.WriteAllText(armed, "");
        var fb = await pair.Target.CliAsync("failback", "job1");
        Assert.True(fb.ExitCode == 0, fb.Stdout + fb.Stderr);
        Assert.False(File.Exists(armed), "the stand-in smbd never saw the share released");

        var onSource = Path.Combine(pair.SourceData, "late.txt");
        Assert.True(File.Exists(onSource), "a write completed as the identity was released never reached the source");
        Assert.Equal("written as the share went away", File.ReadAllText(onSource));
        Assert.Contains((await pair.Target.EventsAsync("job1")).Codes(), c => c == EventCode.FailbackLastSync);
    }
}
