using System.Runtime.InteropServices;
using System.Text;
using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Security;

/// <summary>
/// Issue 19, items 1, 8 and 9 and the privilege policy: the target's owner decides where a trusted source may write
/// (its trust entry's roots) and what its replicas may carry (no setuid/setgid, no security.*/trusted.* xattrs unless
/// allowed); a source the target does not trust says so in words an operator can act on; refused connections are
/// aggregated.
/// </summary>
public sealed partial class TrustPolicyTests
{
    [Fact]
    public async Task JobOutsideTheTrustEntrysRoots_IsRefused_AndTheSourceSaysWhatToRun()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync(); // the target lets the source write under the temp directory only
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "data");
        var outside = Path.Combine("/var/tmp", "ustd-outside-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await pair.ApplyAsync(pair.JobYaml(targetPath: outside));
            var w = await pair.Source.CliAsync("wait", "job1", "--until", "mirrored", "--timeout", "60");
            Assert.False(File.Exists(Path.Combine(outside, "a.txt")), "the source wrote outside the roots the target gave it");
            Assert.Equal(1, w.ExitCode);
            Assert.Contains("outside the roots", w.Stderr, StringComparison.Ordinal);
            Assert.Contains($"understudy trust add {pair.Source.Id} --root", w.Stderr, StringComparison.Ordinal);
            Assert.Contains(await pair.Target.EventsAsync(), e => e.Code() == EventCode.JobOutsideRoots);

            // The target's owner narrows the entry to one directory: `trust list` shows it, and a job inside it runs.
            var allowed = pair.Dir.Sub("allowed");
            Directory.CreateDirectory(allowed);
            (await pair.Target.CliAsync("trust", "set", pair.Source.Id, "--root", allowed)).EnsureOk();
            var list = (await pair.Target.CliAsync("trust", "list")).EnsureOk().Stdout;
            Assert.Contains($"roots: {allowed}", list, StringComparison.Ordinal);
            Assert.Contains($"\"roots\":[\"{allowed}\"]", (await pair.Target.CliAsync("trust", "list", "--json")).EnsureOk().Stdout, StringComparison.Ordinal);
            var replica = Path.Combine(allowed, "replica");
            await pair.ApplyAsync(pair.JobYaml(targetPath: replica));
            await pair.WaitMirroredAsync();
            Assert.True(File.Exists(Path.Combine(replica, "a.txt")));

            // A symlink the source replicated into its replica does not lead a job out of the root.
            Directory.CreateDirectory(outside);
            File.CreateSymbolicLink(Path.Combine(pair.SourceData, "ln"), outside);
            await pair.Source.CliAsync("mirror", "job1");
            await Wait.UntilAsync(() => Task.FromResult(File.Exists(Path.Combine(replica, "ln")) || Directory.Exists(Path.Combine(replica, "ln"))),
                TimeSpan.FromSeconds(60), "the link replicated");
            await pair.ApplyAsync(pair.JobYaml(targetPath: Path.Combine(replica, "ln")));
            w = await pair.Source.CliAsync("wait", "job1", "--until", "mirrored", "--timeout", "60");
            Assert.Equal(1, w.ExitCode);
            Assert.Contains("through a symlink", w.Stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(outside, "a.txt")), "the source wrote through a link out of its root");

            // A root is never taken through a symlink, and an entry with no roots lets the source write nowhere.
            var linkRoot = pair.Dir.Sub("link-root");
            File.CreateSymbolicLink(linkRoot, outside);
            var bad = await pair.Target.CliAsync("trust", "set", pair.Source.Id, "--root", linkRoot);
            Assert.NotEqual(0, bad.ExitCode);
            Assert.Contains("symlink", bad.Stderr, StringComparison.Ordinal);
            (await pair.Target.CliAsync("trust", "set", pair.Source.Id)).EnsureOk();
            await pair.ApplyAsync(pair.JobYaml(targetPath: replica));
            w = await pair.Source.CliAsync("wait", "job1", "--until", "mirrored", "--timeout", "60");
            Assert.Equal(1, w.ExitCode);
            Assert.Contains("no roots", w.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(outside))
                Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task SetuidBitsAndSecurityXattrs_AreDroppedByDefault_AndAppliedWhenTheEntryAllowsThem()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        var tool = Path.Combine(pair.SourceData, "tool");
        File.WriteAllText(tool, "#!/bin/sh\n");
        File.SetUnixFileMode(tool, (UnixFileMode)0xDED); // 06755
        SetXattr(tool, "trusted.understudy", "planted");
        SetXattr(tool, "user.note", "kept");
        File.SetUnixFileMode(pair.SourceData, (UnixFileMode)0x5ED); // 02755: a set-group-ID directory
        await pair.ApplyAsync(pair.JobYaml());
        await pair.WaitMirroredAsync();

        var copy = Path.Combine(pair.TargetData, "tool");
        Assert.Equal((UnixFileMode)0x1ED, File.GetUnixFileMode(copy)); // 0755: set-user-ID and set-group-ID dropped
        Assert.Null(GetXattr(copy, "trusted.understudy"));
        Assert.Equal("kept", GetXattr(copy, "user.note"));
        Assert.Contains(await pair.Target.EventsAsync(), e => e.Code() == EventCode.ApplyPrivilegesDropped);

        // Each widening is explicit, on the target's entry for this source.
        (await pair.Target.CliAsync("trust", "add", pair.Source.Id, "--allow-setuid", "--allow-security-xattrs")).EnsureOk();
        var list = (await pair.Target.CliAsync("trust", "list")).EnsureOk().Stdout;
        Assert.Contains("setuid/setgid: applied; security.*/trusted.* xattrs: applied", list, StringComparison.Ordinal);
        await Wait.UntilAsync(async () =>
        {
            await pair.Source.CliAsync("verify", "job1", "--repair");
            return File.GetUnixFileMode(copy) == (UnixFileMode)0xDED && GetXattr(copy, "trusted.understudy") == "planted";
        }, TimeSpan.FromSeconds(120), "the repair applied the bits and the attribute");
    }

    [Fact]
    public async Task SourceTheTargetDoesNotTrust_SaysTheTargetRefusedItsCertificate_AndWhatToRunThere()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        (await pair.Target.CliAsync("trust", "remove", pair.Source.Id)).EnsureOk();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "data");
        await pair.ApplyAsync(pair.JobYaml());
        string reason = "";
        await Wait.UntilAsync(async () =>
        {
            reason = (await pair.Source.StatusAsync("job1"))["reason"]?.GetValue<string>() ?? "";
            return reason.Contains("refused this agent's certificate", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(60), "the job's reason says the target refused the certificate");
        Assert.Contains($"run there: understudy trust add {pair.Source.Id}", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefusedConnections_AreAggregated_IntoOneEventPerAddressAndWindow()
    {
        await using var pair = new AgentPair();
        pair.Target.Environment["UNDERSTUDY_REFUSAL_WINDOW_MS"] = "3000";
        await pair.StartAsync();
        using var stranger = AgentIdentity.LoadOrCreate(Directory.CreateDirectory(pair.Dir.Sub("stranger")).FullName);
        const int attempts = 40;
        for (int i = 0; i < attempts; i++)
            await PeerSecurityTests.TryConnectAsync(pair.Target, stranger);
        await Wait.UntilAsync(async () => (await pair.Target.EventsAsync()).Any(e => e.Code() == EventCode.PeerRefusalsSummarized),
            TimeSpan.FromSeconds(60), "a summary of the refusals");
        var events = await pair.Target.EventsAsync();
        Assert.True(events.Count(e => e.Code() == EventCode.PeerUntrusted) <= 2, events.Describe());
        long counted = events.Where(e => e.Code() == EventCode.PeerRefusalsSummarized).Sum(e => e.Data()!["count"]!.GetValue<long>());
        Assert.Equal(attempts, counted + events.Count(e => e.Code() == EventCode.PeerUntrusted));
        Assert.Contains(events, e => e.Code() == EventCode.PeerRefusalsSummarized && e.Message().Contains("from 127.0.0.1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EventLog_IsBounded_ByTheAgentsSetting()
    {
        using var dir = new TempDir();
        await using var agent = new AgentProcess(dir.Path, "solo");
        agent.ExtraArgs.AddRange(["--events-keep", "20"]);
        await agent.StartAsync();
        for (int i = 0; i < 30; i++)
            (await agent.CliAsync("trust", "add", Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)))).EnsureOk();
        var events = await agent.EventsAsync();
        Assert.True(events.Count <= 22, $"{events.Count} events kept:\n{events.Describe()}");
        Assert.Contains(events, e => e.Code() == EventCode.PeerTrusted);
    }

    private static void SetXattr(string path, string name, string value)
    {
        var v = Encoding.UTF8.GetBytes(value);
        if (Xattr.lsetxattr(path, name, v, (nuint)v.Length, 0) != 0)
            throw new IOException($"setxattr {name}: errno {Marshal.GetLastPInvokeError()}");
    }

    private static string? GetXattr(string path, string name)
    {
        var buf = new byte[256];
        var n = Xattr.lgetxattr(path, name, buf, (nuint)buf.Length);
        return n < 0 ? null : Encoding.UTF8.GetString(buf, 0, (int)n);
    }

    private static partial class Xattr
    {
        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int lsetxattr(string path, string name, byte[] value, nuint size, int flags);

        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial nint lgetxattr(string path, string name, byte[] value, nuint size);
    }
}
