using System.Globalization;
using System.Runtime.InteropServices;

namespace Understudy.Core.Posix;

/// <summary>
/// A test seam (Syncthing's errorfs): the real file system, except that chosen calls on chosen paths fail with a
/// chosen errno, as a failing disk would make them fail, so tests of real agent processes see EIO and fsync failures
/// without a broken device. Switched on only by the agent setting UNDERSTUDY_FAULT_FS=FILE (docs/cli.md, test-only);
/// FILE is a control file the test rewrites while the agent runs, re-read within <see cref="ReloadEvery"/>: one rule a
/// line, <c>OPS ERRNO PREFIX</c>, e.g. <c>write,syncfs EIO /srv/replica</c> (OPS: <see cref="OpNames"/> or <c>*</c>;
/// ERRNO: a name of <see cref="ErrnoNames"/> or a number; PREFIX: an absolute path, matched with everything below it).
/// A missing or empty file means no faults. A call is matched by the path of its descriptor (/proc/self/fd) joined
/// with its name, so the lookup costs only where a rule names that call.
/// </summary>
internal sealed unsafe class FaultingFileSystem : IFileSystem, IDisposable
{
    public static readonly TimeSpan ReloadEvery = TimeSpan.FromMilliseconds(100);

    [Flags]
    internal enum Op
    {
        None = 0,
        Create = 1 << 0, Write = 1 << 1, Truncate = 1 << 2, Fsync = 1 << 3, SyncFs = 1 << 4, Mkdir = 1 << 5,
        Rename = 1 << 6, Link = 1 << 7, Symlink = 1 << 8, Unlink = 1 << 9, SetXattr = 1 << 10, ReadDir = 1 << 11, Open = 1 << 12,
    }

    /// <summary>The names of OPS in a rule. "create" is an openat that makes a file (O_CREAT, O_TMPFILE); "open" is any openat.</summary>
    public static readonly IReadOnlyDictionary<string, Op> OpNames = new Dictionary<string, Op>(StringComparer.OrdinalIgnoreCase)
    {
        ["create"] = Op.Create,
        ["open"] = Op.Open,
        ["write"] = Op.Write,
        ["truncate"] = Op.Truncate,
        ["fsync"] = Op.Fsync,
        ["syncfs"] = Op.SyncFs,
        ["mkdir"] = Op.Mkdir,
        ["rename"] = Op.Rename,
        ["link"] = Op.Link,
        ["symlink"] = Op.Symlink,
        ["unlink"] = Op.Unlink,
        ["setxattr"] = Op.SetXattr,
        ["readdir"] = Op.ReadDir,
    };

    public static readonly IReadOnlyDictionary<string, int> ErrnoNames = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
    {
        ["EIO"] = 5,
        ["ENOSPC"] = Libc.ENOSPC,
        ["EROFS"] = 30,
        ["EDQUOT"] = 122,
        ["EACCES"] = Libc.EACCES,
        ["EPERM"] = Libc.EPERM,
    };

    internal readonly record struct Rule(Op Ops, int Errno, string Prefix)
    {
        public bool Covers(string path) =>
            path.StartsWith(Prefix, StringComparison.Ordinal) && (path.Length == Prefix.Length || path[Prefix.Length] == '/' || Prefix == "/");
    }

    private readonly IFileSystem _real = RealFileSystem.Instance;
    private readonly string _control;
    private readonly Timer _timer;
    private volatile Rule[] _rules = [];
    private volatile Op _ops; // the union of the rules' ops: the common case (no rule for this call) costs one test
    private (DateTime Mtime, long Length)? _seen;
    private long _injected;

    public FaultingFileSystem(string controlFile)
    {
        _control = controlFile;
        Reload();
        _timer = new Timer(_ => Reload(), null, ReloadEvery, ReloadEvery);
    }

    /// <summary>How many calls were failed so far.</summary>
    public long Injected => Interlocked.Read(ref _injected);

    public IReadOnlyList<Rule> Rules => _rules;

    /// <summary>Parses a control file's text; a line it cannot read throws (<see cref="FormatException"/>).</summary>
    internal static Rule[] Parse(string text)
    {
        var rules = new List<Rule>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
                continue;
            var parts = line.Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 3 || parts[2][0] != '/')
                throw new FormatException($"fault rule '{line}': expected OPS ERRNO /PREFIX");
            Op ops = Op.None;
            foreach (var name in parts[0].Split(','))
                ops |= name == "*" ? (Op)~0 : OpNames.TryGetValue(name, out var op) ? op : throw new FormatException($"fault rule '{line}': no operation '{name}'");
            int errno = ErrnoNames.TryGetValue(parts[1], out var n) ? n
                : int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out n) && n > 0 ? n
                : throw new FormatException($"fault rule '{line}': no errno '{parts[1]}'");
            var prefix = parts[2].Length > 1 ? parts[2].TrimEnd('/') : parts[2];
            rules.Add(new Rule(ops, errno, prefix));
        }
        return [.. rules];
    }

    private void Reload()
    {
        try
        {
            var info = new FileInfo(_control);
            (DateTime, long)? now = info.Exists ? (info.LastWriteTimeUtc, info.Length) : null;
            if (now == _seen)
                return;
            var text = now is null ? "" : File.ReadAllText(_control);
            var rules = Parse(text);
            _seen = now;
            _rules = rules;
            _ops = rules.Aggregate(Op.None, (all, r) => all | r.Ops);
            // What is in force now, for the test to wait on before it acts (FILE.applied): the rules apply from the
            // next call, not from an unknown moment within ReloadEvery.
            File.WriteAllText(_control + ".applied", text);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            // Half-written by the test, or wrong: the rules in force stay; read again at the next tick.
        }
    }

    /// <summary>The errno of the first rule for <paramref name="op"/> covering the path, else 0.</summary>
    private int Fault(Op op, SafeFd fd, byte* name, SafeFd? toDir = null, byte* toName = null)
    {
        if ((_ops & op) == 0)
            return 0;
        string? path = null, to = null;
        foreach (var r in _rules)
        {
            if ((r.Ops & op) == 0)
                continue;
            path ??= PathOf(fd, name);
            if (toDir is not null)
                to ??= PathOf(toDir, toName);
            if (path is not null && r.Covers(path) || to is not null && r.Covers(to))
            {
                Interlocked.Increment(ref _injected);
                Marshal.SetLastPInvokeError(r.Errno);
                return r.Errno;
            }
        }
        return 0;
    }

    /// <summary>Where a descriptor (and a name relative to it) is: /proc/self/fd's link (an unnamed file shows as its
    /// directory's path plus "/#inode (deleted)", which is still below the directory).</summary>
    private static string? PathOf(SafeFd fd, byte* name)
    {
        string? rel = name is null ? null : Marshal.PtrToStringUTF8((nint)name);
        if (rel is { Length: > 0 } && rel[0] == '/')
            return rel;
        string? dir;
        try
        {
            dir = new FileInfo($"/proc/self/fd/{fd.DangerousGetHandle()}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        return dir is null ? null : rel is null or "" or "." ? dir : dir == "/" ? "/" + rel : dir + "/" + rel;
    }

    public int OpenAt(SafeFd dir, byte* path, int flags, uint mode)
    {
        var op = (flags & Libc.O_CREAT) != 0 || (flags & Libc.O_TMPFILE) == Libc.O_TMPFILE ? Op.Create | Op.Open : Op.Open;
        return Fault(op, dir, path) != 0 ? -1 : _real.OpenAt(dir, path, flags, mode);
    }

    public nint Pwrite(SafeFd fd, byte* buffer, nuint count, long offset) =>
        Fault(Op.Write, fd, null) != 0 ? -1 : _real.Pwrite(fd, buffer, count, offset);

    public int Ftruncate(SafeFd fd, long length) => Fault(Op.Truncate, fd, null) != 0 ? -1 : _real.Ftruncate(fd, length);

    public int Fsync(SafeFd fd) => Fault(Op.Fsync, fd, null) != 0 ? -1 : _real.Fsync(fd);

    public int SyncFs(SafeFd fd) => Fault(Op.SyncFs, fd, null) != 0 ? -1 : _real.SyncFs(fd);

    public int MkdirAt(SafeFd dir, byte* path, uint mode) => Fault(Op.Mkdir, dir, path) != 0 ? -1 : _real.MkdirAt(dir, path, mode);

    public int RenameAt(SafeFd fromDir, byte* from, SafeFd toDir, byte* to) =>
        Fault(Op.Rename, fromDir, from, toDir, to) != 0 ? -1 : _real.RenameAt(fromDir, from, toDir, to);

    public int LinkAt(SafeFd fromDir, byte* from, SafeFd toDir, byte* to, int flags) =>
        Fault(Op.Link, toDir, to) != 0 ? -1 : _real.LinkAt(fromDir, from, toDir, to, flags);

    public int SymlinkAt(byte* target, SafeFd dir, byte* path) => Fault(Op.Symlink, dir, path) != 0 ? -1 : _real.SymlinkAt(target, dir, path);

    public int UnlinkAt(SafeFd dir, byte* path, int flags) => Fault(Op.Unlink, dir, path) != 0 ? -1 : _real.UnlinkAt(dir, path, flags);

    public int Fsetxattr(SafeFd fd, byte* name, byte* value, nuint size, int flags) =>
        Fault(Op.SetXattr, fd, null) != 0 ? -1 : _real.Fsetxattr(fd, name, value, size, flags);

    public nint Getdents64(SafeFd dir, byte* buffer, nuint count) =>
        Fault(Op.ReadDir, dir, null) != 0 ? -1 : _real.Getdents64(dir, buffer, count);

    public void Dispose() => _timer.Dispose();
}
