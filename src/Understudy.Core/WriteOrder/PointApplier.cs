using System.Text;
using Understudy.Core.Posix;

namespace Understudy.Core.WriteOrder;

/// <summary>Applies one consistency point (a btrfs send stream made with <c>-p previous</c>) to a plain
/// directory tree that holds the previous point, with plain syscalls, so that a redo after a crash at
/// any command ends in the same tree as an uninterrupted apply.
///
/// Why a redo is safe (docs/adr/0001-write-order-mode.md, "Redo"): commands are numbered from 0. A
/// <em>destructive</em> command (rename, unlink, rmdir: a name stops meaning what it meant) and a clone
/// (which reads the tree) are <em>boundaries</em>: before one, the applier makes everything before it
/// durable (syncfs) and then has the caller record "next = k" durably. A redo starts at the last
/// recorded k, so the tree it meets is exactly "before command k" or "after command k" (one rename or
/// unlink is atomic), plus any of the commands after k up to the next boundary. Those are creations
/// (mkfile, mkdir, link, symlink...: "already there" means done, since the stream never creates a
/// name that exists), writes and truncates at absolute offsets, and absolute metadata (chmod, chown,
/// utimes, xattrs): running them again, in order, from any such state gives the same result, and
/// none of them changes which inode a name denotes, so every path they name resolves as it did.</summary>
internal sealed partial class PointApplier : IDisposable
{
    private readonly string _rootPath;
    private readonly SafeFd _root;
    private Guid _uuid;
    private Guid _parentUuid;

    /// <summary>The replica's root: the tree that equals the previous point.</summary>
    public PointApplier(string rootPath)
    {
        _rootPath = Path.GetFullPath(rootPath).TrimEnd('/');
        _root = OpenRoot(_rootPath);
    }

    /// <summary>The mode bits a chmod may set (the target's privilege policy: 0x3FF without setuid/setgid).</summary>
    public uint ModeMask { get; init; } = 0xFFF;

    /// <summary>Leave security.* and trusted.* attributes alone: neither set nor removed (the target's privilege policy).</summary>
    public bool SkipPrivilegedXattrs { get; init; }

    /// <summary>Test hook: called with each command's index before it runs; throwing from it is a crash there.</summary>
    internal Action<int>? BeforeCommand { get; set; }

    /// <summary>Applies the commands of <paramref name="reader"/> (header read) from index
    /// <paramref name="startAt"/> to the stream's End. Commands before it are read (and checked) but not run.
    /// <paramref name="checkpoint"/>(k) must record "next = k" durably before returning; it is called after
    /// a syncfs, before boundary command k. Returns when End is applied; the caller then syncs and
    /// declares the point applied.</summary>
    public void Apply(SendStreamReader reader, int startAt, Action<int> checkpoint)
    {
        int index = 0;
        while (true)
        {
            var c = reader.ReadCommand() ?? throw new InvalidSendStreamException("stream ends without an End command", reader.Position);
            if (c.Kind == SendCommandKind.End)
                return;
            if (index == 0 && c.Kind is not (SendCommandKind.Snapshot or SendCommandKind.Subvol))
                throw new InvalidSendStreamException($"stream starts with {c.Kind}, not Snapshot or Subvol", c.Offset);
            if (c.Kind is SendCommandKind.Snapshot or SendCommandKind.Subvol)
                Begin(c);
            else if (index >= startAt)
            {
                bool boundary = IsBoundary(c.Kind);
                if (boundary && index > startAt)
                {
                    CloseFiles();
                    SyncFs();
                    checkpoint(index);
                }
                BeforeCommand?.Invoke(index);
                Run(c);
                if (c.Kind == SendCommandKind.Clone)
                {
                    // A clone read the tree: the commands after it may change its source, so a redo must
                    // never run it again once they have started.
                    CloseFiles();
                    SyncFs();
                    checkpoint(index + 1);
                }
            }
            index++;
        }
    }

    private static bool IsBoundary(SendCommandKind k) =>
        k is SendCommandKind.Rename or SendCommandKind.Unlink or SendCommandKind.Rmdir or SendCommandKind.Clone;

    private void Begin(SendCommand c)
    {
        _uuid = c.Uuid(SendAttribute.Uuid);
        _parentUuid = c.Has(SendAttribute.CloneUuid) ? c.Uuid(SendAttribute.CloneUuid) : Guid.Empty;
    }

    /// <summary>Makes everything written to the replica's file system durable.</summary>
    public void SyncFs()
    {
        CloseFiles();
        if (FileSystem.Current.SyncFs(_root) != 0)
            throw PosixException.FromLastError("syncfs", _rootPath);
    }

    public void Dispose()
    {
        CloseFiles();
        _root.Dispose();
    }
}
