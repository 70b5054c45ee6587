using System.Runtime.InteropServices;
using System.Text;

namespace Understudy.Agent.Tests.Replication.Faults.Support;

/// <summary>
/// The system calls the churn needs exactly: .NET's File.Move may become link+unlink (which the
/// kernel reports as create+delete, not as a rename), and it has no hard links, chown or xattrs.
/// Every call is the l-variant: a symlink is changed itself, never followed.
/// </summary>
internal static partial class ChurnLibc
{
    private const int ENODATA = 61;

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameNative(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkNative(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "truncate", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int TruncateNative(string path, long length);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LchownNative(string path, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "lsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LsetxattrNative(string path, string name, byte[] value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "lremovexattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LremovexattrNative(string path, string name);

    [LibraryImport("libc", EntryPoint = "llistxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint LlistxattrNative(string path, byte[]? list, nuint size);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UtimensatNative(int dirfd, string path, long[] times, int flags);

    public static bool IsRoot => GetEuid() == 0;

    /// <summary>Sets atime and mtime (seconds, nanoseconds) of the entry itself, as `touch -d` puts an old time back.</summary>
    public static void SetTimes(string path, long sec, long nsec) =>
        Check(UtimensatNative(-100, path, [sec, nsec, sec, nsec], 0x100), "utimensat", path);

    public static void Rename(string from, string to) => Check(RenameNative(from, to), "rename", from);

    public static void Link(string existing, string newPath) => Check(LinkNative(existing, newPath), "link", existing);

    public static void Truncate(string path, long length) => Check(TruncateNative(path, length), "truncate", path);

    public static void Lchown(string path, int uid, int gid) => Check(LchownNative(path, uid, gid), "lchown", path);

    public static void SetXattr(string path, string name, byte[] value) =>
        Check(LsetxattrNative(path, name, value, (nuint)value.Length, 0), "lsetxattr", path);

    /// <summary>False when the attribute was not there.</summary>
    public static bool RemoveXattr(string path, string name)
    {
        if (LremovexattrNative(path, name) == 0)
            return true;
        if (Marshal.GetLastPInvokeError() == ENODATA)
            return false;
        Check(-1, "lremovexattr", path);
        return false;
    }

    /// <summary>The user.* attribute names of <paramref name="path"/>, sorted (so choices stay deterministic).</summary>
    public static List<string> ListUserXattrs(string path)
    {
        var size = LlistxattrNative(path, null, 0);
        if (size <= 0)
            return [];
        var buf = new byte[size];
        var n = LlistxattrNative(path, buf, (nuint)buf.Length);
        if (n <= 0)
            return [];
        var names = Encoding.UTF8.GetString(buf, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Where(s => s.StartsWith("user.", StringComparison.Ordinal)).ToList();
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    private static void Check(int rc, string what, string path)
    {
        if (rc != 0)
            throw new IOException($"{what} {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }
}
