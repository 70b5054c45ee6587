using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;

namespace Understudy.Agent.Restore;

/// <summary>
/// The source's consent for what a restore replaces or removes there that is not a conflict (issue 19, item 4): data
/// that was replicated before, which the target changed or deleted during the fail-over. By default
/// (<c>restore.replaced: keep</c>, the source's own job) each such entry is kept before it goes, under one directory per
/// restore at the top of the source's tree, <c>.understudy-restore/SOURCE-YYYYMMDDTHHMMSSZ/PATH</c> (FsTree.Keep.cs:
/// reserved, so the restore never deletes it and forward replication never sends it). A replaced file keeps its old
/// inode under a second name (the new content arrives by temp + rename); a removed entry, or a directory something
/// else takes the place of, is moved there whole. At each name the first version the restore replaced is the one kept:
/// later replacements of the same name are the restore's own writes. Counted for one event at the end of the session.
/// </summary>
internal sealed class RestoreKeeper(FsTree tree, string dirName)
{
    private readonly RelPath _dir = RelPath.Parse(FsTree.RestoreDirName).Append(System.Text.Encoding.UTF8.GetBytes(dirName));

    /// <summary>The directory, relative to the tree's root.</summary>
    public string Dir => _dir.ToString();

    public int Replaced { get; private set; }

    public int Removed { get; private set; }

    /// <summary>Entries that could not be kept (on another mount inside the tree: a link or rename cannot cross it), and the first of them.</summary>
    public int NotKept { get; private set; }

    public string? FirstNotKept { get; private set; }

    /// <summary><c>SOURCE-20261125T105500Z</c>: the source agent's name (made safe for a file name) and when the restore began.</summary>
    public static string DirName(string sourceName, DateTimeOffset at) =>
        $"{ConflictParker.SafeName(sourceName)}-{at.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}";

    /// <summary>Called before the restore replaces (<paramref name="removes"/> false) or removes <paramref name="path"/>, when it is no conflict.</summary>
    public void BeforeChange(RelPath path, bool removes)
    {
        if (path.IsRoot || FsTree.IsReserved(path) || tree.Lstat(path) is not { } st)
            return;
        try
        {
            if (!Keep(path, move: removes || st.Kind == EntryKind.Directory))
                return;
            if (removes)
                Removed++;
            else
                Replaced++;
        }
        catch (PosixException e) when (!e.IsEscape)
        {
            NotKept++;
            FirstNotKept ??= $"{path}: {e.Message}";
        }
    }

    private bool Keep(RelPath path, bool move)
    {
        var kept = path.Rebase(RelPath.Root, _dir);
        if (tree.KeepAside(path, kept, move))
            return true;
        // Something is kept at that name already: a directory whose entries the restore replaced or removed one by
        // one before it removes the directory itself. Merged entry by entry; what is kept already stays.
        if (!move || tree.Lstat(path) is not { Kind: EntryKind.Directory } || tree.Lstat(kept) is not { Kind: EntryKind.Directory })
            return false;
        var children = tree.Walk(path, p => p == path || p.Parent == path).Skip(1).Select(e => e.Path).ToList();
        bool any = false;
        foreach (var child in children)
            any |= Keep(child, move: true);
        return any;
    }
}
