using System.Globalization;

namespace Understudy.Agent.Tests.Replication.Faults.Support;

/// <summary>Every kind of change issue 3 §1 says the watcher must capture.</summary>
internal enum ChurnOp
{
    Create,
    Write,
    Truncate,
    Append,
    Rename,
    RenameDirectory,
    MoveIn,
    MoveOut,
    Delete,
    Mkdir,
    Rmdir,
    RemoveTree,
    Chmod,
    Chown,
    Symlink,
    HardLink,
    XattrSet,
    XattrRemove,
    /// <summary>Same size, other bytes, and the old mtime put back (what a catch-up that trusts size+mtime misses).</summary>
    RewriteKeepMtime,
    /// <summary>A file grown by truncate(2) by up to 4 MiB: a hole that must stay a hole.</summary>
    SparseGrow,
    /// <summary>A directory renamed onto an existing empty directory (rename(2) replaces it).</summary>
    RenameOntoEmptyDir,
    /// <summary>A write through one name of a hard-linked file, then that name removed.</summary>
    WriteLinkThenUnlink,
}

/// <summary>
/// Seeded random operations on a source tree, of every kind in <see cref="ChurnOp"/>, including moves
/// into and out of the job through a sibling directory outside it. The same seed on the same starting
/// tree gives the same operations (choices come from a sorted walk of the tree, which only this
/// generator changes), so a failure can be replayed; <see cref="Log"/> says what was done.
/// </summary>
internal sealed partial class ChurnGenerator
{
    private readonly Random _rng;
    private readonly List<string> _log = [];
    private readonly Dictionary<ChurnOp, int> _counts = [];
    private int _next;
    private int _step;

    /// <param name="root">The job's source path.</param>
    /// <param name="outside">A directory on the same filesystem but outside the job (rename(2) must work between them).</param>
    public ChurnGenerator(string root, string outside, int seed)
    {
        Root = root;
        Outside = outside;
        Seed = seed;
        _rng = new Random(seed);
        Directory.CreateDirectory(outside);
    }

    public string Root { get; }

    public string Outside { get; }

    public int Seed { get; }

    /// <summary>chown needs root; without it the operation is left out (and says so in the log).</summary>
    public bool CanChown { get; } = ChurnLibc.IsRoot;

    /// <summary>Directories (relative paths) the churn must not move, replace or remove: a test works on them by name.</summary>
    public HashSet<string> Keep { get; } = [];

    /// <summary>Largest file the generator creates; keeps a churn cheap to mirror on a slow machine.</summary>
    public int MaxFileSize { get; init; } = 256 * 1024;

    /// <summary>Starts every fresh name, so two generators on trees that meet (a replica churned by clients during a
    /// fail-over, then restored to the source) never pick the same name; empty by default (names stay as they were).</summary>
    public string NameTag { get; init; } = "";

    /// <summary>Names at the top of the tree the generator never picks, walks into or replaces (the target agent's
    /// own work directory in a replica).</summary>
    public IReadOnlyList<string> Untouched { get; init; } = [];

    /// <summary>
    /// False: <see cref="ChurnOp.WriteLinkThenUnlink"/> keeps the new name instead of removing it at once. inotify cannot
    /// tell which file a write went to when the name written through was a new hard link removed before the agent could
    /// look at it (docs/architecture.md, "Capture"); fanotify can. Set for runs with inotify capture.
    /// </summary>
    public bool TransientLinks { get; init; } = true;

    public IReadOnlyDictionary<ChurnOp, int> Counts
    {
        get
        {
            lock (_log)
                return new Dictionary<ChurnOp, int>(_counts);
        }
    }

    public IReadOnlyList<string> Log
    {
        get
        {
            lock (_log)
                return [.. _log];
        }
    }

    /// <summary>The last <paramref name="lines"/> operations, for a failure message.</summary>
    public string LogTail(int lines = 80)
    {
        lock (_log)
            return $"churn seed {Seed}, {_step} operations; last ones:\n" + string.Join('\n', _log.Skip(Math.Max(0, _log.Count - lines)));
    }

    /// <summary>Performs <paramref name="operations"/> random operations.</summary>
    public void Run(int operations)
    {
        for (int i = 0; i < operations; i++)
            Step();
    }

    /// <summary>Runs on a pool thread, so a test can churn while it waits for something else.</summary>
    public Task RunAsync(int operations, CancellationToken cancellationToken = default) => Task.Run(() =>
    {
        for (int i = 0; i < operations && !cancellationToken.IsCancellationRequested; i++)
            Step();
    }, cancellationToken);

    /// <summary>Runs until cancelled (the token is the stop signal, not an error); returns the number of operations.</summary>
    public Task<int> RunUntilCancelledAsync(CancellationToken stop) => Task.Run(() =>
    {
        int n = 0;
        while (!stop.IsCancellationRequested)
        {
            Step();
            n++;
        }
        return n;
    }, CancellationToken.None);

    /// <summary>Performs <paramref name="op"/> once (or the nearest applicable operation when the tree offers nothing to do it on).</summary>
    public void Do(ChurnOp op)
    {
        var done = Apply(op);
        if (done is null)
            done = Apply(ChurnOp.Create);
        Record(op, done!);
    }

    /// <summary>
    /// How often each kind is drawn: creation and content changes most, whole-tree removals least, so the
    /// tree grows to something worth replicating instead of being emptied by rm -r and moves out.
    /// </summary>
    private static readonly (ChurnOp Op, int Weight)[] Weights =
    [
        (ChurnOp.Create, 8), (ChurnOp.Write, 4), (ChurnOp.Truncate, 2), (ChurnOp.Append, 3), (ChurnOp.Rename, 3),
        (ChurnOp.RenameDirectory, 2), (ChurnOp.MoveIn, 2), (ChurnOp.MoveOut, 2), (ChurnOp.Delete, 2), (ChurnOp.Mkdir, 3),
        (ChurnOp.Rmdir, 1), (ChurnOp.RemoveTree, 1), (ChurnOp.Chmod, 2), (ChurnOp.Chown, 2), (ChurnOp.Symlink, 2),
        (ChurnOp.HardLink, 2), (ChurnOp.XattrSet, 2), (ChurnOp.XattrRemove, 2), (ChurnOp.RewriteKeepMtime, 2),
        (ChurnOp.SparseGrow, 1), (ChurnOp.RenameOntoEmptyDir, 2), (ChurnOp.WriteLinkThenUnlink, 1),
    ];

    private static readonly int TotalWeight = Weights.Sum(w => w.Weight);

    private ChurnOp Draw()
    {
        int r = _rng.Next(TotalWeight);
        foreach (var (op, weight) in Weights)
        {
            if (r < weight)
                return op;
            r -= weight;
        }
        return ChurnOp.Create;
    }

    /// <summary>One random operation (see <see cref="Weights"/>).</summary>
    public void Step()
    {
        for (int attempt = 0; attempt < 20; attempt++)
        {
            var op = Draw();
            if (Apply(op) is { } what)
            {
                Record(op, what);
                return;
            }
        }
        Record(ChurnOp.Create, Apply(ChurnOp.Create)!);
    }

    private void Record(ChurnOp op, string what)
    {
        lock (_log)
        {
            _step++;
            _counts[op] = _counts.GetValueOrDefault(op) + 1;
            _log.Add($"#{_step.ToString(CultureInfo.InvariantCulture)} {op} {what}");
        }
    }

    private enum Kind
    {
        File,
        Directory,
        Symlink,
    }

    private readonly record struct Entry(string Rel, Kind Kind);

    /// <summary>Everything below <paramref name="dir"/> but <see cref="Untouched"/>, sorted ordinally (symlinks are never followed).</summary>
    private List<Entry> Walk(string dir)
    {
        var result = new List<Entry>();
        WalkInto(dir, "", result);
        result.Sort((a, b) => string.CompareOrdinal(a.Rel, b.Rel));
        return result;
    }

    private void WalkInto(string abs, string rel, List<Entry> into)
    {
        foreach (var path in Directory.GetFileSystemEntries(abs))
        {
            var name = Path.GetFileName(path);
            if (rel.Length == 0 && Untouched.Contains(name))
                continue;
            var r = rel.Length == 0 ? name : rel + "/" + name;
            var info = new FileInfo(path);
            if (info.LinkTarget is not null)
            {
                into.Add(new Entry(r, Kind.Symlink));
            }
            else if ((info.Attributes & FileAttributes.Directory) != 0)
            {
                into.Add(new Entry(r, Kind.Directory));
                WalkInto(path, r, into);
            }
            else
            {
                into.Add(new Entry(r, Kind.File));
            }
        }
    }

    private T? Pick<T>(IReadOnlyList<T> items) where T : struct => items.Count == 0 ? null : items[_rng.Next(items.Count)];

    /// <summary>A directory of the job to put something in: the root itself or one of its directories.</summary>
    private string PickParent(List<Entry> entries)
    {
        var dirs = entries.Where(e => e.Kind == Kind.Directory).ToList();
        return dirs.Count == 0 || _rng.Next(4) == 0 ? "" : dirs[_rng.Next(dirs.Count)].Rel;
    }

    /// <summary>A fresh name; some have spaces or non-ASCII letters, which replication must carry unchanged.</summary>
    private string FreshName(string prefix)
    {
        var n = (_next++).ToString(CultureInfo.InvariantCulture);
        return NameTag + _rng.Next(6) switch
        {
            0 => $"{prefix} {n}.txt",
            1 => $"{prefix}-é{n}",
            _ => prefix + n,
        };
    }

    private static string Join(string parent, string name) => parent.Length == 0 ? name : parent + "/" + name;

    private string Abs(string rel) => rel.Length == 0 ? Root : Path.Combine(Root, rel);

    private byte[] RandomBytes(int n)
    {
        var b = new byte[n];
        _rng.NextBytes(b);
        return b;
    }

    /// <summary>Mostly small files, now and then one big enough for a block delta to matter.</summary>
    private int RandomSize() => _rng.Next(10) switch
    {
        0 => 0,
        < 7 => _rng.Next(1, 4096),
        < 9 => _rng.Next(4096, 65536),
        _ => _rng.Next(65536, Math.Max(65537, MaxFileSize)),
    };
}
