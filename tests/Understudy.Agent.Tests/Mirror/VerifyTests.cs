using System.Text;
using System.Text.Json.Nodes;
using Understudy.Testing;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Agent.Tests.Mirror;

/// <summary>
/// `verify` compares everything a mirror preserves and names each kind of difference; `verify --repair` fixes
/// each kind. Differences are planted on the target's copy, as a client or a fault would leave them.
/// </summary>
public sealed class VerifyTests
{
    // A multiple of 100 ns: File.SetLastWriteTimeUtc (ticks) puts it back exactly.
    private const long Mtime = 1_600_000_000_123_456_700;

    /// <summary>Replication off: only the mirror and the repair write to the target.</summary>
    private const string NoReplication = "replication:\n  enabled: false";

    [Fact]
    public async Task Verify_TargetXattrChangedOrRemoved_IsReported_RepairRestoresIt()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        using (var s = FsTree.Open(pair.SourceData, create: false))
        {
            WriteFile(s, "changed.txt", "a", 0x1A4, [X("user.tag", "v1"), X("user.other", "same")]);
            WriteFile(s, "removed.txt", "b", 0x1A4, [X("user.tag", "v1")]);
            WriteFile(s, "added.txt", "c", 0x1A4, []);
        }
        await pair.ApplyAsync(pair.JobYaml(extra: NoReplication));
        await pair.WaitMirroredAsync();
        Assert.Equal(0, (await pair.Source.CliAsync("verify", "job1")).ExitCode);

        using (var t = FsTree.Open(pair.TargetData, create: false))
        {
            SetXattrs(t, "changed.txt", [X("user.tag", "v2"), X("user.other", "same")]);
            SetXattrs(t, "removed.txt", []);
            SetXattrs(t, "added.txt", [X("user.planted", "x")]);
        }

        var r = await pair.Source.CliAsync("verify", "job1", "--json");
        Assert.Equal(1, r.ExitCode);
        var found = Differences(r.Stdout);
        Assert.Contains("xattrs changed.txt", found.Keys);
        Assert.Contains("xattrs removed.txt", found.Keys);
        Assert.Contains("xattrs added.txt", found.Keys);
        Assert.Contains("user.tag", found["xattrs changed.txt"], StringComparison.Ordinal);
        Assert.Contains("user.tag", found["xattrs removed.txt"], StringComparison.Ordinal);
        Assert.Contains("user.planted", found["xattrs added.txt"], StringComparison.Ordinal);
        Assert.Equal(3, found.Count);

        var repaired = await pair.Source.CliAsync("verify", "job1", "--repair", "--json");
        Assert.True(repaired.ExitCode == 0, repaired.Stdout + repaired.Stderr);
        using (var t = FsTree.Open(pair.TargetData, create: false))
        {
            Assert.Equal("v1", Value(t, "changed.txt", "user.tag"));
            Assert.Equal("v1", Value(t, "removed.txt", "user.tag"));
            Assert.Empty(t.ReadXattrs(RelPath.Parse("added.txt")));
        }
    }

    [Fact]
    public async Task Verify_EachKindOfDifference_IsNamed_InJsonAndText_RepairFixesEach()
    {
        await using var pair = new AgentPair { TargetTrust = ["--allow-setuid"] }; // the tree has a setuid file
        await pair.StartAsync();
        using (var s = FsTree.Open(pair.SourceData, create: false))
        {
            foreach (var name in new[] { "missing.txt", "type", "size.txt", "mode.txt", "owner.txt", "mtime.txt", "linked-1", "separate-1", "separate-2" })
                WriteFile(s, name, "same content", 0x1A4, []);
            WriteFile(s, "content.txt", "0123456789", 0x1A4, []);
            WriteFile(s, "setuid", "#!/bin/sh\n", 0x9ED, []); // 04755
            WriteFile(s, "xattr.txt", "x", 0x1A4, [X("user.a", "1")]);
            s.HardLink(RelPath.Parse("linked-1"), RelPath.Parse("linked-2"));
            s.Symlink(RelPath.Parse("link"), Encoding.UTF8.GetBytes("mode.txt"));
            using (var tmp = s.CreateTemp(RelPath.Parse("sparse.img")))
            {
                tmp.SetLength(16 << 20);
                tmp.Write(HostileTree.RandomBytes(4096, 7), 0);
                tmp.SetMetadata(0x1A4, null, null, Mtime, null);
                tmp.Commit();
            }
        }
        await pair.ApplyAsync(pair.JobYaml(extra: NoReplication));
        await pair.WaitMirroredAsync();
        var clean = await pair.Source.CliAsync("verify", "job1", "--checksum");
        Assert.True(clean.ExitCode == 0, clean.Stdout + clean.Stderr);

        var td = pair.TargetData;
        string T(string name) => Path.Combine(td, name);
        File.Delete(T("missing.txt"));
        File.WriteAllText(T("extra.txt"), "x");
        File.Delete(T("type"));
        Directory.CreateDirectory(T("type"));
        KeepMtime(T("size.txt"), p => File.AppendAllText(p, "!"));
        KeepMtime(T("content.txt"), p => File.WriteAllText(p, "0123X56789"));
        File.Delete(T("link"));
        File.CreateSymbolicLink(T("link"), "owner.txt");
        File.SetUnixFileMode(T("mode.txt"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.SetUnixFileMode(T("setuid"), (UnixFileMode)0x1ED); // 0755: the set-user-ID bit lost
        using (var t = FsTree.Open(td, create: false))
        {
            var st = t.Lstat(RelPath.Parse("owner.txt"))!.Value;
            t.SetMetadata(RelPath.Parse("owner.txt"), st.Mode, 4321, 4321, st.MtimeNs, null);
            SetXattrs(t, "xattr.txt", [X("user.a", "2")]);
        }
        File.SetLastWriteTimeUtc(T("mtime.txt"), new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        // linked-1 and linked-2 are one file on the source: two on the target. separate-1 and -2 the other way round.
        KeepMtime(T("linked-2"), p =>
        {
            File.Delete(p);
            File.WriteAllText(p, "same content");
        });
        File.Delete(T("separate-2"));
        Capture.TestLibc.Link(T("separate-1"), T("separate-2"));
        // The sparse file filled on the target: every block allocated, the same bytes.
        KeepMtime(T("sparse.img"), p =>
        {
            using var f = new FileStream(p, FileMode.Open, FileAccess.Write);
            var zeros = new byte[1 << 20];
            for (long off = 1 << 20; off < 16 << 20; off += zeros.Length)
            {
                f.Position = off;
                f.Write(zeros);
            }
            f.Flush(flushToDisk: true);
        });

        var r = await pair.Source.CliAsync("verify", "job1", "--checksum", "--json");
        Assert.True(r.ExitCode == 1, r.Stdout + r.Stderr);
        var found = Differences(r.Stdout);
        string[] expected =
        [
            "missing missing.txt", "extra extra.txt", "type type", "size size.txt", "content content.txt", "symlink link",
            "mode mode.txt", "mode setuid", "owner owner.txt", "mtime mtime.txt", "xattrs xattr.txt",
            "links linked-1", "links linked-2", "links separate-1", "links separate-2", "holes sparse.img",
        ];
        foreach (var e in expected)
            Assert.True(found.ContainsKey(e), $"'{e}' not reported; got:\n{string.Join("\n", found.Select(f => $"{f.Key} ({f.Value})"))}");

        // Without --checksum, content of the same size is not compared.
        var quick = Differences((await pair.Source.CliAsync("verify", "job1", "--json")).Stdout);
        Assert.DoesNotContain("content content.txt", quick.Keys);
        Assert.Contains("holes sparse.img", quick.Keys);

        // The human output names the same kinds.
        var text = await pair.Source.CliAsync("verify", "job1", "--checksum");
        Assert.Equal(1, text.ExitCode);
        foreach (var e in expected)
        {
            var (kind, path) = (e[..e.IndexOf(' ')], e[(e.IndexOf(' ') + 1)..]);
            Assert.Contains(text.Stdout.Split('\n'), l => l.StartsWith(kind + " ", StringComparison.Ordinal) && l.Contains(" " + path + " ", StringComparison.Ordinal));
        }

        var repaired = await pair.Source.CliAsync("verify", "job1", "--checksum", "--repair", "--json");
        var left = Differences(repaired.Stdout);
        Assert.True(left.Keys.SequenceEqual(["extra extra.txt"]), // orphans: keep leaves the extra file and reports it
            string.Join("\n", left.Select(f => $"{f.Key} ({f.Value})")));
        using (var t = FsTree.Open(td, create: false))
        {
            var sparse = t.Lstat(RelPath.Parse("sparse.img"))!.Value;
            Assert.True(sparse.AllocatedBytes < 1 << 20, $"sparse.img allocated {sparse.AllocatedBytes} bytes after repair");
            Assert.Equal(t.Lstat(RelPath.Parse("linked-1"))!.Value.Inode, t.Lstat(RelPath.Parse("linked-2"))!.Value.Inode);
            Assert.NotEqual(t.Lstat(RelPath.Parse("separate-1"))!.Value.Inode, t.Lstat(RelPath.Parse("separate-2"))!.Value.Inode);
            Assert.Equal(0x9EDu, t.Lstat(RelPath.Parse("setuid"))!.Value.Mode);
        }
    }

    /// <summary>"kind path" → detail.</summary>
    private static Dictionary<string, string> Differences(string json) =>
        JsonNode.Parse(json)!["differences"]!.AsArray().ToDictionary(d => $"{d!["kind"]} {d["path"]}", d => d!["detail"]?.ToString() ?? "");

    private static Xattr X(string name, string value) => new(Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value));

    private static void WriteFile(FsTree t, string path, string content, uint mode, IReadOnlyList<Xattr> xattrs)
    {
        using var tmp = t.CreateTemp(RelPath.Parse(path));
        tmp.Write(Encoding.UTF8.GetBytes(content), 0);
        tmp.SetMetadata(mode, null, null, Mtime, xattrs);
        tmp.Commit();
    }

    private static void SetXattrs(FsTree t, string path, IReadOnlyList<Xattr> xattrs)
    {
        var st = t.Lstat(RelPath.Parse(path))!.Value;
        t.SetMetadata(RelPath.Parse(path), st.Mode, null, null, st.MtimeNs, xattrs);
    }

    private static string? Value(FsTree t, string path, string name) =>
        t.ReadXattrs(RelPath.Parse(path)).Where(x => Encoding.ASCII.GetString(x.Name) == name).Select(x => Encoding.ASCII.GetString(x.Value)).FirstOrDefault();

    private static void KeepMtime(string path, Action<string> change)
    {
        var mtime = File.GetLastWriteTimeUtc(path);
        change(path);
        File.SetLastWriteTimeUtc(path, mtime);
    }
}
