using System.Diagnostics;
using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>An entry the target cannot take is left out with a reason; everything else is protected.</summary>
public sealed class NotProtectedTests
{
    private const string Component = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";

    private static void Sh(string dir, string script)
    {
        var psi = new ProcessStartInfo("bash", ["-c", script]) { WorkingDirectory = dir, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, p.StandardError.ReadToEnd());
    }

    /// <summary>A file below 20 nested directories of 240 bytes: its path (4,8xx bytes) is longer than PATH_MAX, legal
    /// to make one relative step at a time.</summary>
    private static void MakeDeepFile(string root, string top) =>
        Sh(root, $"mkdir {top} && cd {top} && for i in $(seq 1 20); do mkdir {Component} && cd {Component}; done && echo deep > leaf");

    private static void ManyXattrs(string path, int n)
    {
        using var t = FsTree.Open(Path.GetDirectoryName(path)!, create: false);
        var name = RelPath.Parse(Path.GetFileName(path));
        var st = t.Lstat(name)!.Value;
        var x = Enumerable.Range(0, n).Select(i => new Xattr(System.Text.Encoding.ASCII.GetBytes($"user.a{i}"), [(byte)'v'])).ToList();
        t.SetMetadata(name, st.Mode, null, null, st.MtimeNs, x);
    }

    private static string[] NotProtected(JsonNode status) =>
        [.. status["notProtected"]!["entries"]!.AsArray().Select(e => e!["path"]!.GetValue<string>())];

    [Fact]
    public async Task PathTooLongAndTooManyXattrs_AreLeftOutWithAReason_EverythingElseIsProtected()
    {
        if (!FsTree.IsRoot)
            return; // tmpfs (ext4 holds ~170 small xattrs per file at most) needs root to mount; CI runs as root
        await using var pair = new AgentPair();
        await pair.StartAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        string T(string p) => Path.Combine(pair.TargetData, p);
        Directory.CreateDirectory(pair.SourceData);
        Sh(pair.SourceData, "mount -t tmpfs -o size=64m tmpfs .");
        try
        {
            File.WriteAllText(S("before.txt"), "before");
            MakeDeepFile(pair.SourceData, "deep1");
            File.WriteAllText(S("xattrs1"), "content of a file with 300 xattrs");
            ManyXattrs(S("xattrs1"), 300);
            await pair.ApplyAsync(pair.JobYaml(orphans: "delete"));
            await pair.WaitMirroredAsync();
            await ReplicationTests.WaitIdleAsync(pair);
            Assert.Equal("before", File.ReadAllText(T("before.txt")));

            // The same kinds arriving through replication.
            MakeDeepFile(pair.SourceData, "deep2");
            File.WriteAllText(S("xattrs2"), "another");
            ManyXattrs(S("xattrs2"), 257);
            File.WriteAllText(S("after.txt"), "after");
            await ReplicationTests.WaitIdleAsync(pair);
            Assert.Equal("after", File.ReadAllText(T("after.txt")));
            File.WriteAllText(S("later.txt"), "later");
            await ReplicationTests.WaitIdleAsync(pair);
            Assert.Equal("later", File.ReadAllText(T("later.txt")));
            // Capture cannot name a path longer than PATH_MAX (its events are dropped: issue 16, found here, not fixed
            // in this change); the next mirror lists it.
            (await pair.Source.CliAsync("mirror", "job1", "--wait", "--timeout", "120")).EnsureOk();
            await ReplicationTests.WaitIdleAsync(pair);

            // The files with too many xattrs are there without them; the deep directories up to the limit are there.
            Assert.Equal("content of a file with 300 xattrs", File.ReadAllText(T("xattrs1")));
            Assert.Equal("another", File.ReadAllText(T("xattrs2")));
            Assert.True(Directory.Exists(T("deep1/" + Component)));

            var status = await pair.Source.StatusAsync("job1");
            Assert.Equal("replicating", status["state"]!.GetValue<string>());
            var listed = NotProtected(status);
            Assert.Contains("xattrs1", listed);
            Assert.Contains("xattrs2", listed);
            Assert.Contains(listed, p => p.StartsWith("deep1/", StringComparison.Ordinal) && p.Length > 4096);
            Assert.Contains(listed, p => p.StartsWith("deep2/", StringComparison.Ordinal) && p.Length > 4096);
            Assert.Equal(4, status["notProtected"]!["count"]!.GetValue<long>());
            var text = (await pair.Source.CliAsync("status", "job1")).EnsureOk().Stdout;
            Assert.Contains("not protected: 4 entries", text, StringComparison.Ordinal);

            var events = (await pair.Source.CliAsync("events", "--job", "job1", "--json", "--limit", "500")).Stdout;
            // Why each entry is not protected is the point: the message says it.
            var notProtected = (await pair.Source.EventsAsync("job1")).Where(e => e.Code() == EventCode.NotProtected).Select(e => e.Message()).ToList();
            Assert.Contains(notProtected, m => m.Contains("xattrs1: it has 300 extended attributes", StringComparison.Ordinal));
            Assert.Contains(notProtected, m => m.Contains("PATH_MAX", StringComparison.Ordinal));
            Assert.DoesNotContain("\"severity\":\"error\"", events, StringComparison.Ordinal);

            var verify = await pair.Source.CliAsync("verify", "job1", "--json");
            var diffs = JsonNode.Parse(verify.Stdout)!["differences"]!.AsArray();
            Assert.All(diffs, d => Assert.Equal("not-protected", d!["kind"]!.GetValue<string>()));
            Assert.Equal(4, diffs.Count);
        }
        finally
        {
            await pair.Source.StopAsync();
            Sh(pair.Dir.Path, $"umount -l {pair.SourceData}");
        }
    }
}
