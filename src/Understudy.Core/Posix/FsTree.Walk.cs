using Understudy.Core.Manifest;
using Understudy.Core.Paths;

namespace Understudy.Core.Posix;

internal sealed partial class FsTree
{
    private static readonly int DirReadFlags = Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC;

    /// <summary>
    /// Depth-first pre-order walk below the root (the root itself is not yielded, nor its work
    /// directory, <see cref="WorkDirName"/>): a directory
    /// comes before its contents and siblings come in <see cref="RelPath.CompareTo"/> order, so
    /// the whole sequence is sorted by RelPath. Symlinks are never followed. Fifos, sockets and
    /// devices go to <paramref name="onSkip"/>. <paramref name="descend"/> is asked before each
    /// entry is yielded: false skips it and its subtree. Entries that vanish or cannot be read
    /// go to <paramref name="onError"/> and the walk goes on; without a handler a vanished entry
    /// is passed over silently and any other error is thrown.
    /// Every lookup is relative to the open fd of the directory being listed, so a directory
    /// renamed or swapped for a symlink mid-walk cannot steer the walk elsewhere.
    /// </summary>
    public IEnumerable<FileEntry> Walk(
        Func<RelPath, bool>? descend = null, Action<RelPath, PosixException>? onError = null, Action<RelPath, string>? onSkip = null) =>
        Walk(RelPath.Root, descend, onError, onSkip);

    /// <summary>Same as <see cref="Walk(Func{RelPath, bool}?, Action{RelPath, PosixException}?, Action{RelPath, string}?)"/>
    /// for the subtree at <paramref name="start"/>, which is yielded first when it exists
    /// (and is not excluded by <paramref name="descend"/>).</summary>
    public IEnumerable<FileEntry> Walk(
        RelPath start, Func<RelPath, bool>? descend = null, Action<RelPath, PosixException>? onError = null, Action<RelPath, string>? onSkip = null)
    {
        var stack = new Stack<DirFrame>();
        try
        {
            if (start.IsRoot)
            {
                var root = Sys.OpenAt(_root, s_dot, DirReadFlags | Libc.O_DIRECTORY, 0, "open", RootDisplay);
                stack.Push(new DirFrame(root, RelPath.Root, SortedEntries(root, RootDisplay)));
            }
            else if (!IsReserved(start) && (descend is null || descend(start)))
            {
                using var parent = TryResolveParent(start);
                var zname = Sys.Z(start.Name);
                var entry = parent is null ? null : Visit(parent, zname, start, onError, onSkip);
                if (entry is null)
                    yield break;
                yield return entry;
                if (entry.Kind == EntryKind.Directory && OpenChild(parent!, zname, start, onError) is { } frame)
                    stack.Push(frame);
            }

            while (stack.Count > 0)
            {
                var f = stack.Peek();
                if (f.Next >= f.Entries.Count)
                {
                    stack.Pop().Dir.Dispose();
                    continue;
                }
                byte[] zname = f.Entries[f.Next++];
                var path = f.Path.Append(zname.AsSpan(0, zname.Length - 1));
                if (f.Path.IsRoot && IsReserved(path))
                    continue; // the tree's work directory: this layer's, never the user's (FsTree.Work.cs)
                if (descend is not null && !descend(path))
                    continue;
                var entry = Visit(f.Dir, zname, path, onError, onSkip);
                if (entry is null)
                    continue;
                yield return entry;
                // Opened after the consumer saw the entry, so it lists what is there now.
                if (entry.Kind == EntryKind.Directory && OpenChild(f.Dir, zname, path, onError) is { } child)
                    stack.Push(child);
            }
        }
        finally
        {
            while (stack.Count > 0)
                stack.Pop().Dir.Dispose();
        }
    }

    private FileEntry? Visit(SafeFd dir, byte[] zname, RelPath path, Action<RelPath, PosixException>? onError, Action<RelPath, string>? onSkip)
    {
        int e = Sys.TryStatx(dir, zname, Libc.AT_SYMLINK_NOFOLLOW, out var buf);
        if (e != 0)
        {
            Report(new PosixException(e, "lstat", Show(path)), path, onError);
            return null;
        }
        var st = StatInfo.From(buf);
        if (st.Kind is not { } kind)
        {
            onSkip?.Invoke(path, StatInfo.OtherKindName(buf.Mode));
            return null;
        }
        byte[]? target = null;
        if (kind == EntryKind.Symlink)
        {
            try
            {
                target = Sys.ReadLinkAt(dir, zname, Show(path));
            }
            catch (PosixException ex)
            {
                Report(ex, path, onError);
                return null;
            }
        }
        // A directory's size is a file-system detail (4096 on ext4, entry count elsewhere):
        // reported as 0 so both sides of a mirror agree.
        long size = kind == EntryKind.Directory ? 0 : st.Size;
        return new FileEntry(path, kind, st.Mode, st.Uid, st.Gid, size, st.MtimeNs, target, st.Inode, st.Device, st.LinkCount, st.AllocatedBytes, st.CtimeNs);
    }

    private DirFrame? OpenChild(SafeFd parent, byte[] zname, RelPath path, Action<RelPath, PosixException>? onError)
    {
        SafeFd? fd = null;
        try
        {
            fd = Sys.OpenAt(parent, zname, DirReadFlags | Libc.O_DIRECTORY, 0, "open", Show(path));
            return new DirFrame(fd, path, SortedEntries(fd, Show(path)));
        }
        catch (PosixException ex)
        {
            fd?.Dispose();
            Report(ex, path, onError);
            return null;
        }
    }

    private static void Report(PosixException ex, RelPath path, Action<RelPath, PosixException>? onError)
    {
        if (onError is not null)
            onError(path, ex);
        else if (!ex.IsNotFound)
            throw ex;
    }

    /// <summary>Names sorted byte-wise. Each carries its NUL terminator, which also makes a
    /// name sort before any longer name it prefixes, as RelPath order requires.</summary>
    private static List<byte[]> SortedEntries(SafeFd dir, string display)
    {
        var raw = Sys.ReadDir(dir, display);
        var names = new List<byte[]>(raw.Count);
        foreach (var (z, _) in raw)
            names.Add(z);
        names.Sort(static (a, b) => a.AsSpan().SequenceCompareTo(b));
        return names;
    }

    private sealed class DirFrame(SafeFd dir, RelPath path, List<byte[]> entries)
    {
        public SafeFd Dir { get; } = dir;

        public RelPath Path { get; } = path;

        public List<byte[]> Entries { get; } = entries;

        public int Next { get; set; }
    }
}
