using System.Runtime.InteropServices;
using System.Text;

namespace Understudy.Agent.Tests.Capture;

/// <summary>Calls the tests need that .NET does not expose: hard links, xattrs, truncate(2), euid.</summary>
internal static partial class TestLibc
{
    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkNative(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "truncate", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int TruncateNative(string path, long length);

    [LibraryImport("libc", EntryPoint = "setxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetXattrNative(string path, string name, byte[] value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetXattrNative(string path, string name, byte[] value, nuint size);

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameNative(string oldPath, string newPath);

    /// <summary>rename(2) itself: File.Move may copy and delete, which the kernel reports as other events.</summary>
    public static void Rename(string oldPath, string newPath) => Check(RenameNative(oldPath, newPath), "rename");

    public static bool IsRoot => GetEuid() == 0;

    public static void Link(string oldPath, string newPath) => Check(LinkNative(oldPath, newPath), "link");

    public static void Truncate(string path, long length) => Check(TruncateNative(path, length), "truncate");

    public static void SetXattr(string path, string name, string value)
    {
        var v = Encoding.UTF8.GetBytes(value);
        Check(SetXattrNative(path, name, v, (nuint)v.Length, 0), "setxattr");
    }

    /// <summary>The value of one xattr as text, or null when the entry does not have it.</summary>
    public static string? GetXattr(string path, string name)
    {
        var buf = new byte[65536];
        nint n = GetXattrNative(path, name, buf, (nuint)buf.Length);
        if (n < 0)
            return Marshal.GetLastPInvokeError() == 61 /* ENODATA */ ? null : throw new IOException($"lgetxattr failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        return Encoding.UTF8.GetString(buf, 0, (int)n);
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0)
            throw new IOException($"{what} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }
}
