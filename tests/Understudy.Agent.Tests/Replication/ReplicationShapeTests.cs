using Understudy.Agent.Events;
using Understudy.Testing;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>Changes whose effect is wider than the name the kernel reports, and a target that is not in the shape a change expects.</summary>
public sealed class ReplicationShapeTests
{
    [Fact]
    public async Task HardLinks_WriteAndChmodThroughOneName_EveryNameOnTheTargetChanges_AndStaysOneFile()
    {
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        Directory.CreateDirectory(S("x"));
        Directory.CreateDirectory(S("y"));
        File.WriteAllText(S("x/a"), "first");
        Capture.TestLibc.Link(S("x/a"), S("x/b"));
        Capture.TestLibc.Link(S("x/a"), S("y/c"));
        await ReplicationTests.WaitIdleAsync(pair);

        File.AppendAllText(S("y/c"), " and more through another name"); // reported as a change of y/c only
        await ReplicationTests.WaitIdleAsync(pair);
        File.SetUnixFileMode(S("x/b"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await ReplicationTests.WaitIdleAsync(pair);

        using var t = FsTree.Open(pair.TargetData, create: false);
        var inodes = new[] { "x/a", "x/b", "y/c" }.Select(p => t.Lstat(RelPath.Parse(p))!.Value).ToList();
        Assert.All(inodes, st => Assert.Equal(inodes[0].Inode, st.Inode));
        Assert.All(inodes, st => Assert.Equal(0x180u, st.Mode));
        Assert.Equal("first and more through another name", File.ReadAllText(Path.Combine(pair.TargetData, "x/a")));
        await ReplicationTests.AssertVerifiedAsync(pair);
    }

    [Fact]
    public async Task HardLinks_WriteThroughANameThenThatNameRemoved_TheChangeReachesTheOtherName()
    {
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        File.WriteAllText(S("keep"), "old");
        Capture.TestLibc.Link(S("keep"), S("other"));
        await ReplicationTests.WaitIdleAsync(pair);
        (await pair.Source.CliAsync("pause", "job1")).EnsureOk(); // the change is sent after the name is gone
        File.WriteAllText(S("other"), "new content");
        File.Delete(S("other"));
        (await pair.Source.CliAsync("resume", "job1")).EnsureOk();
        await ReplicationTests.WaitIdleAsync(pair);
        Assert.Equal("new content", File.ReadAllText(Path.Combine(pair.TargetData, "keep")));
        Assert.False(File.Exists(Path.Combine(pair.TargetData, "other")));
        await ReplicationTests.AssertVerifiedAsync(pair);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HardLinks_SameSizeRewriteThroughOneNameWithTheOldMtimePutBack_ReachesEveryName(bool thenANewLink)
    {
        // Size, mtime, mode, owner and xattrs all as they were when the content was sent: only the ctime (and the
        // content) says the file changed. A new name made after it must not be linked to the target's old copy either.
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        File.WriteAllText(S("a"), "old content");
        Capture.TestLibc.Link(S("a"), S("b"));
        await ReplicationTests.WaitIdleAsync(pair);
        var st = Convergence.SnapshotLibc.Lstat(S("a"));

        File.WriteAllText(S("b"), "new content");
        Faults.Support.ChurnLibc.SetTimes(S("b"), st.MtimeSec, st.MtimeNsec); // to the nanosecond, as touch -r does
        if (thenANewLink)
            Capture.TestLibc.Link(S("a"), S("c"));
        await ReplicationTests.WaitIdleAsync(pair);

        foreach (var name in thenANewLink ? new[] { "a", "b", "c" } : ["a", "b"])
            Assert.Equal("new content", File.ReadAllText(Path.Combine(pair.TargetData, name)));
        await ReplicationTests.AssertVerifiedAsync(pair);
    }

    [Fact]
    public async Task HardLinks_ChangeThenAnOldNameRenamedOntoAFileInADirectoryRenamedLater_EndsLinkedWithTheChange()
    {
        // The shape of convergence seed 727 (which passes since the ctime fix above; this test passed before it too).
        // The change is sent with the names the file has when it is sent, ahead of the queue; the rename that follows
        // in the queue carries the target's old copy onto a name under the directory's old name.
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        Directory.CreateDirectory(S("d1"));
        Directory.CreateDirectory(S("d2"));
        File.WriteAllText(S("d1/f"), "linked");
        Capture.TestLibc.Link(S("d1/f"), S("d1/h"));
        File.WriteAllText(S("d2/g"), "a file of its own");
        await ReplicationTests.WaitIdleAsync(pair);

        (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
        Faults.Support.ChurnLibc.SetXattr(S("d1/f"), "user.mark", "new"u8.ToArray());
        Capture.TestLibc.Rename(S("d1/h"), S("d2/g"));
        Capture.TestLibc.Rename(S("d2"), S("d3"));
        (await pair.Source.CliAsync("resume", "job1")).EnsureOk();
        await ReplicationTests.WaitIdleAsync(pair);

        using var t = FsTree.Open(pair.TargetData, create: false);
        Assert.Equal(t.Lstat(RelPath.Parse("d1/f"))!.Value.Inode, t.Lstat(RelPath.Parse("d3/g"))!.Value.Inode);
        Assert.Equal("linked", File.ReadAllText(Path.Combine(pair.TargetData, "d3/g")));
        Assert.Equal(["user.mark"], Faults.Support.ChurnLibc.ListUserXattrs(Path.Combine(pair.TargetData, "d3/g")));
        await ReplicationTests.AssertVerifiedAsync(pair);
    }

    [Fact]
    public async Task ChangesOnlyTheCtimeShows_QueuedBeforeADifferenceMirror_AreNotLostWhenTheMirrorCoversThem()
    {
        // Convergence seed 706: a mirror takes the queue up to its start as covered, and a difference mirror compares
        // size and mtime; an xattr change, or a same-size rewrite that put the old mtime back, queued and not yet
        // acknowledged, was covered by a mirror that could not see it.
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        File.WriteAllText(S("x"), "with no xattr yet");
        File.WriteAllText(S("r"), "old content");
        await ReplicationTests.WaitIdleAsync(pair);
        var st = Convergence.SnapshotLibc.Lstat(S("r"));

        (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
        Faults.Support.ChurnLibc.SetXattr(S("x"), "user.mark", "new"u8.ToArray());
        File.WriteAllText(S("r"), "new content");
        Faults.Support.ChurnLibc.SetTimes(S("r"), st.MtimeSec, st.MtimeNsec);
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["replication"]?["opsPending"]?.GetValue<long>() >= 2,
            TimeSpan.FromSeconds(60), "both changes queued");
        (await pair.Source.CliAsync("mirror", "job1", "--mode", "different", "--wait", "--timeout", "120")).EnsureOk();
        (await pair.Source.CliAsync("resume", "job1")).EnsureOk();
        await ReplicationTests.WaitIdleAsync(pair);

        Assert.Equal(["user.mark"], Faults.Support.ChurnLibc.ListUserXattrs(Path.Combine(pair.TargetData, "x")));
        Assert.Equal("new content", File.ReadAllText(Path.Combine(pair.TargetData, "r")));
    }

    [Fact]
    public async Task HardLinks_WriteThroughANameThenRemoved_Twice_WithTheFileRenamedBetween_ReachesTheFile()
    {
        // Convergence seed 773: the file's other name is looked for by a walk when the name written through is gone;
        // the second time, the name found by the first walk had moved, and no second walk was made.
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        Directory.CreateDirectory(S("d"));
        File.WriteAllText(S("d/f"), "version 0");
        await ReplicationTests.WaitIdleAsync(pair);
        async Task QueuedAsync(Action change)
        {
            // Each change queued before the next: the watcher has seen the new link before it is written through (with
            // inotify, a link made, written through and removed before the watcher reads its creation is not followed).
            long before = await PendingAsync();
            change();
            await Wait.UntilAsync(async () => await PendingAsync() > before, TimeSpan.FromSeconds(60), "the change queued");
        }
        async Task<long> PendingAsync() => (await pair.Source.StatusAsync("job1"))["replication"]?["opsPending"]?.GetValue<long>() ?? 0;

        foreach (var (round, dir) in new[] { (1, "d"), (2, "e") })
        {
            (await pair.Source.CliAsync("pause", "job1")).EnsureOk(); // sent after the name is gone
            if (round == 2)
                await QueuedAsync(() => Capture.TestLibc.Rename(S("d"), S("e")));
            await QueuedAsync(() => Capture.TestLibc.Link(S($"{dir}/f"), S($"h{round}")));
            File.WriteAllText(S($"h{round}"), $"version {round}");
            File.Delete(S($"h{round}"));
            (await pair.Source.CliAsync("resume", "job1")).EnsureOk();
            await ReplicationTests.WaitIdleAsync(pair);
            Assert.Equal($"version {round}", File.ReadAllText(Path.Combine(pair.TargetData, dir, "f")));
        }
        await ReplicationTests.AssertVerifiedAsync(pair);
    }

    [Fact]
    public async Task DirectoryRenamedOntoANonEmptyDirectoryOnTheTarget_IsResent_NotRetriedForEver()
    {
        await using var pair = await ReplicationTests.StartMirroredAsync();
        Directory.CreateDirectory(Path.Combine(pair.SourceData, "a/sub"));
        File.WriteAllText(Path.Combine(pair.SourceData, "a/sub/f"), "f");
        await ReplicationTests.WaitIdleAsync(pair);
        // Debris the source never had, where the rename will land (as a replay after a cut can leave).
        Directory.CreateDirectory(Path.Combine(pair.TargetData, "b/old"));
        File.WriteAllText(Path.Combine(pair.TargetData, "b/old/stale"), "stale");

        Capture.TestLibc.Rename(Path.Combine(pair.SourceData, "a"), Path.Combine(pair.SourceData, "b"));
        await ReplicationTests.WaitIdleAsync(pair);

        Assert.Equal("f", File.ReadAllText(Path.Combine(pair.TargetData, "b/sub/f")));
        Assert.False(Directory.Exists(Path.Combine(pair.TargetData, "b/old")));
        Assert.False(Directory.Exists(Path.Combine(pair.TargetData, "a")));
        await ReplicationTests.AssertVerifiedAsync(pair);
        var status = await pair.Source.StatusAsync("job1");
        Assert.Equal("replicating", status["state"]!.GetValue<string>());
        var events = (await pair.Source.CliAsync("events", "--job", "job1", "--json", "--limit", "200")).Stdout;
        Assert.DoesNotContain("\"severity\":\"error\"", events, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DirectoryRenamedOntoAnEmptyDirectory_ReplacesIt_WithoutAFailedApply(bool emptiedByAMove)
    {
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        Directory.CreateDirectory(S("a/sub"));
        File.WriteAllText(S("a/sub/f"), "f");
        Directory.CreateDirectory(S("b"));
        if (emptiedByAMove)
            File.WriteAllText(S("b/leaving"), "moves away before the rename");
        await ReplicationTests.WaitIdleAsync(pair);

        if (emptiedByAMove)
            Capture.TestLibc.Rename(S("b/leaving"), S("left"));
        Capture.TestLibc.Rename(S("a"), S("b")); // rename(2) replaces an empty directory
        await ReplicationTests.WaitIdleAsync(pair);

        Assert.Equal("f", File.ReadAllText(Path.Combine(pair.TargetData, "b/sub/f")));
        Assert.False(Directory.Exists(Path.Combine(pair.TargetData, "a")));
        await ReplicationTests.AssertVerifiedAsync(pair);
        var codes = (await pair.Source.EventsAsync(limit: 200)).Concat(await pair.Target.EventsAsync(limit: 200)).Codes().ToList();
        Assert.DoesNotContain(EventCode.ApplyIoFailed, codes);
        Assert.DoesNotContain(EventCode.ApplyResendRequested, codes);
    }

    [Fact]
    public async Task TreeMovedInWhilePaused_ThenASubdirectoryMovedDeeper_EveryFileArrives()
    {
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        var outside = Path.Combine(pair.Dir.Path, "outside-" + Guid.NewGuid().ToString("N")[..6]);
        foreach (var d in new[] { "o/a", "o/b" })
        {
            Directory.CreateDirectory(Path.Combine(outside, d));
            File.WriteAllText(Path.Combine(outside, d, "f1"), d + "1");
            File.WriteAllText(Path.Combine(outside, d, "f2"), d + "2");
        }
        (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
        Capture.TestLibc.Rename(Path.Combine(outside, "o"), S("in"));   // moved in: sent as the tree is when it is sent
        File.AppendAllText(S("in/a/f1"), " more");                      // a change under the old name
        Capture.TestLibc.Rename(S("in/a"), S("in/b/deeper"));           // the subtree moves below a sibling
        (await pair.Source.CliAsync("resume", "job1")).EnsureOk();
        await ReplicationTests.WaitIdleAsync(pair);

        Assert.Equal("o/a1 more", File.ReadAllText(Path.Combine(pair.TargetData, "in/b/deeper/f1")));
        Assert.Equal("o/a2", File.ReadAllText(Path.Combine(pair.TargetData, "in/b/deeper/f2")));
        Assert.False(Directory.Exists(Path.Combine(pair.TargetData, "in/a")));
        await ReplicationTests.AssertVerifiedAsync(pair);
    }
    /// <summary>
    /// A target killed after it made a tree's directories but before it published the tree's files (files wait for the
    /// barrier; a kill loses them, the directories stay) holds a skeleton. The replay finds the tree renamed since and a
    /// subdirectory of it moved elsewhere: the tree goes again as it is now, without that subdirectory, and the queued
    /// move then carried the target's empty skeleton to the new name (convergence seed 3059: three files missing, for good).
    /// </summary>
    [Fact]
    public async Task TreeMovedIn_TargetHasOnlyItsDirectories_ThenTheTreeRenamedAndASubdirectoryMovedOut_EveryFileArrives()
    {
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        var outside = Path.Combine(pair.Dir.Path, "outside-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(Path.Combine(outside, "o/sub"));
        File.WriteAllText(Path.Combine(outside, "o/top"), "top");
        File.WriteAllText(Path.Combine(outside, "o/sub/f1"), "one");
        File.WriteAllText(Path.Combine(outside, "o/sub/f2"), "two");
        (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
        Capture.TestLibc.Rename(Path.Combine(outside, "o"), S("in"));   // moved in: sent as the tree is when it is sent
        Capture.TestLibc.Rename(S("in"), S("moved"));
        Capture.TestLibc.Rename(S("moved/sub"), S("away"));
        // What the killed target kept of an earlier send of the tree: its directories, not its files.
        Directory.CreateDirectory(Path.Combine(pair.TargetData, "in/sub"));
        (await pair.Source.CliAsync("resume", "job1")).EnsureOk();
        await ReplicationTests.WaitIdleAsync(pair);

        Assert.Equal("one", File.ReadAllText(Path.Combine(pair.TargetData, "away/f1")));
        Assert.Equal("two", File.ReadAllText(Path.Combine(pair.TargetData, "away/f2")));
        Assert.Equal("top", File.ReadAllText(Path.Combine(pair.TargetData, "moved/top")));
        await ReplicationTests.AssertVerifiedAsync(pair);
    }

    /// <summary>
    /// A hard link moved into the tree, its directory renamed before the file was sent: the file goes again under the
    /// new name by a difference mirror of it, which saw one name of a group whose other names lie outside what it
    /// looked at, and sent it as a file of its own (convergence seed 301: the moved-in name left separate for good).
    /// </summary>
    [Fact]
    public async Task HardLinkMovedIn_ThenItsDirectoryRenamedBeforeItWasSent_EndsLinkedWithItsOtherName()
    {
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        var outside = Path.Combine(pair.Dir.Path, "outside-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(outside);
        Directory.CreateDirectory(S("d"));
        File.WriteAllText(S("r"), "linked content");
        await ReplicationTests.WaitIdleAsync(pair);

        Capture.TestLibc.Link(S("r"), Path.Combine(outside, "o"));
        (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
        Capture.TestLibc.Rename(Path.Combine(outside, "o"), S("d/in"));  // moved in: a new name of r's inode
        Capture.TestLibc.Rename(S("d"), S("e"));                         // before the move-in was sent
        (await pair.Source.CliAsync("resume", "job1")).EnsureOk();
        await ReplicationTests.WaitIdleAsync(pair);

        using var t = FsTree.Open(pair.TargetData, create: false);
        Assert.Equal(t.Lstat(RelPath.Parse("r"))!.Value.Inode, t.Lstat(RelPath.Parse("e/in"))!.Value.Inode);
        await ReplicationTests.AssertVerifiedAsync(pair);
    }

    /// <summary>
    /// A tree moved in, then its directory renamed twice before it was sent: at the first rename the tree is not
    /// under the new name either (the second moved it on), so it must still be owed when the second rename is sent
    /// (convergence seed 706: a moved-in file missing for good, the difference mirror of a name the source no longer
    /// had sent nothing and forgot it).
    /// </summary>
    [Fact]
    public async Task TreeMovedIn_ThenItsDirectoryRenamedTwiceBeforeItWasSent_EveryFileArrives()
    {
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        var outside = Path.Combine(pair.Dir.Path, "outside-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(Path.Combine(outside, "o"));
        File.WriteAllText(Path.Combine(outside, "o/f"), "moved in");
        Directory.CreateDirectory(S("a"));
        await ReplicationTests.WaitIdleAsync(pair);

        (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
        Capture.TestLibc.Rename(Path.Combine(outside, "o"), S("a/in"));
        Capture.TestLibc.Rename(S("a"), S("b"));
        Capture.TestLibc.Rename(S("b"), S("c"));
        (await pair.Source.CliAsync("resume", "job1")).EnsureOk();
        await ReplicationTests.WaitIdleAsync(pair);

        Assert.Equal("moved in", File.ReadAllText(Path.Combine(pair.TargetData, "c/in/f")));
        await ReplicationTests.AssertVerifiedAsync(pair);
    }
}
