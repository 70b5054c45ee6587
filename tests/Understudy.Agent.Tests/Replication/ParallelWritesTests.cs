using System.Text;
using Understudy.Agent.Target;
using Understudy.Testing;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>The target's write workers for whole small files: in-order publication, a failed file handed
/// back (frame still held) for the session to apply itself, frames released, nothing left behind.</summary>
public sealed class ParallelWritesTests
{
    private const long Mtime = 1_650_000_000_123_456_789;

    [Fact]
    public void WholeFiles_ArePublishedByTheBarrier_AndAFailedOneComesBackForTheSessionToApply()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Sub("blocker"), "a file where a directory should be");
        using var tree = FsTree.Open(dir.Path, create: false);
        var root = tree.Lstat(RelPath.Root)!.Value;
        var frames = new List<Frame>();
        var failed = new List<ParallelWrites.Item>();
        using (var applier = new Applier(tree))
        {
            for (int i = 0; i < 300; i++)
            {
                var m = Whole(i == 150 ? "blocker/x" : $"d{i % 7}/f{i:D3}", $"file {i}", root);
                Assert.True(applier.CanWriteAside(m));
                var frame = new Frame();
                frames.Add(frame);
                applier.WriteAside(m, frame, failed);
            }
            applier.TakeAside(all: true, failed);
            Assert.False(applier.WritingAside);

            var f = Assert.Single(failed);
            Assert.Equal("blocker/x", f.Op.Path.ToString());
            Assert.False(((Frame)f.Owner).Disposed, "the failed file's frame must stay alive for the session");
            // The session's own attempt reports the error a file applied on its thread gives.
            var ex = Assert.Throws<PosixException>(() => applier.BeginFile(f.Op));
            Assert.True(ex.IsTreeConflict && !ex.IsEscape, ex.Message);
            f.Owner.Dispose();

            applier.Barrier();
            Assert.Equal(299, applier.FilesApplied);
        }

        Assert.All(frames, fr => Assert.True(fr.Disposed));
        for (int i = 0; i < 300; i++)
        {
            if (i == 150)
                continue;
            var path = RelPath.Parse($"d{i % 7}/f{i:D3}");
            Assert.Equal($"file {i}", File.ReadAllText(dir.Sub(path.ToString())));
            var st = tree.Lstat(path)!.Value;
            Assert.Equal((0x1A4u, Mtime), (st.Mode, st.MtimeNs));
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path, ".ustd~*", SearchOption.AllDirectories));
    }

    [Fact]
    public void APathInFlight_TouchesItsParentsAndChildren_UntilTakenBack()
    {
        using var dir = new TempDir();
        using var tree = FsTree.Open(dir.Path, create: false);
        using var writes = new ParallelWrites(tree, 2);
        writes.Submit(Whole("a/b/c", "x", tree.Lstat(RelPath.Root)!.Value), new Frame());

        Assert.True(writes.Touches(RelPath.Parse("a/b/c")));
        Assert.True(writes.Touches(RelPath.Parse("a")));
        Assert.True(writes.Touches(RelPath.Parse("a/b/c/d")));
        Assert.False(writes.Touches(RelPath.Parse("a/bc")));
        Assert.False(writes.Touches(RelPath.Parse("z")));

        Assert.True(writes.TryTake(wait: true, out var item));
        Assert.NotNull(item.Temp);
        item.Temp!.Dispose();
        item.Owner.Dispose();
        Assert.False(writes.Touches(RelPath.Parse("a")));
        Assert.False(writes.TryTake(wait: true, out _));
    }

    [Fact]
    public void Dispose_DropsEverythingNotTakenBack()
    {
        using var dir = new TempDir();
        using var tree = FsTree.Open(dir.Path, create: false);
        var root = tree.Lstat(RelPath.Root)!.Value;
        var frames = Enumerable.Range(0, 40).Select(_ => new Frame()).ToList();
        using (var writes = new ParallelWrites(tree, 2))
        {
            for (int i = 0; i < frames.Count; i++)
                writes.Submit(Whole($"f{i}", new string('y', 5000), root), frames[i]);
        }
        Assert.All(frames, fr => Assert.True(fr.Disposed));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path, "*", SearchOption.AllDirectories));
    }

    private static FileBegin Whole(string path, string content, StatInfo owner)
    {
        var data = Encoding.UTF8.GetBytes(content);
        return new FileBegin(RelPath.Parse(path), data.Length, new EntryMeta(0x1A4, owner.Uid, owner.Gid, Mtime), null, true, data);
    }

    private sealed class Frame : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }
}
