using Understudy.Core.Manifest;
using Understudy.Core.Posix;

namespace Understudy.Core.Tests.Posix;

/// <summary>The smallest mirror that uses the layer as the engine will: walk the source,
/// recreate each entry on the target (sparse-aware, hard links kept), then set directory
/// metadata deepest first so adding children does not disturb directory mtimes.</summary>
internal static class MiniMirror
{
    public static void Copy(FsTree source, FsTree target)
    {
        var firstByInode = new Dictionary<(ulong, ulong), FileEntry>();
        var dirs = new List<FileEntry>();
        foreach (var e in source.Walk())
        {
            switch (e.Kind)
            {
                case EntryKind.Directory:
                    target.EnsureDirectory(e.Path, 0x1C0);
                    dirs.Add(e);
                    break;
                case EntryKind.Symlink:
                    target.Symlink(e.Path, e.LinkTarget!);
                    target.SetMetadata(e.Path, e.Mode, e.Uid, e.Gid, e.MtimeNs, null);
                    break;
                case EntryKind.File when e.LinkCount > 1 && firstByInode.TryGetValue((e.Device, e.Inode), out var first):
                    target.HardLink(first.Path, e.Path);
                    break;
                case EntryKind.File:
                    if (e.LinkCount > 1)
                        firstByInode[(e.Device, e.Inode)] = e;
                    CopyFile(source, target, e);
                    break;
            }
        }
        for (int i = dirs.Count - 1; i >= 0; i--)
        {
            var d = dirs[i];
            target.SetMetadata(d.Path, d.Mode, d.Uid, d.Gid, d.MtimeNs, source.ReadXattrs(d.Path));
        }
    }

    private static void CopyFile(FsTree source, FsTree target, FileEntry e)
    {
        using var reader = source.OpenRead(e.Path);
        using var temp = target.CreateTemp(e.Path);
        temp.SetLength(reader.Stat.Size);
        var buf = new byte[64 * 1024];
        foreach (var (offset, length) in reader.DataExtents())
        {
            for (long pos = offset; pos < offset + length;)
            {
                int want = (int)Math.Min(buf.Length, offset + length - pos);
                int n = reader.Read(buf.AsSpan(0, want), pos);
                if (n == 0)
                    break;
                temp.Write(buf.AsSpan(0, n), pos);
                pos += n;
            }
        }
        temp.SetMetadata(e.Mode, e.Uid, e.Gid, e.MtimeNs, source.ReadXattrs(e.Path));
        temp.Fsync();
        temp.Commit();
    }
}
