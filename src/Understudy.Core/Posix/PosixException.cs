using System.Runtime.InteropServices;

namespace Understudy.Core.Posix;

/// <summary>A failed system call, carrying its errno. The only exception this layer throws
/// (besides <see cref="ArgumentException"/> for bad input); callers branch on the Is* flags.</summary>
internal sealed class PosixException : IOException
{
    private readonly bool _escape;

    public PosixException(int errno, string operation, string? pathDisplay, bool escape = false)
        : base(Format(errno, operation, pathDisplay, escape), errno)
    {
        Errno = errno;
        Operation = operation;
        PathDisplay = pathDisplay;
        _escape = escape;
    }

    public int Errno { get; }

    public string Operation { get; }

    public string? PathDisplay { get; }

    public bool IsNotFound => Errno is Libc.ENOENT or Libc.ENOTDIR;

    public bool IsNoSpace => Errno is Libc.ENOSPC or Libc.EDQUOT;

    /// <summary>The tree is not in the shape the operation expects: its subject is missing, or something else is
    /// in the way (a file where a directory should be, a non-empty directory, a rename into its own subtree).</summary>
    public bool IsTreeConflict => Errno is Libc.ENOENT or Libc.ENOTDIR or Libc.EISDIR or Libc.EEXIST or Libc.ENOTEMPTY or Libc.EINVAL or Libc.ELOOP;

    public bool IsPermission => Errno is Libc.EACCES or Libc.EPERM;

    /// <summary>The path tried to leave the tree: a symlink or ".." met while resolving a parent
    /// under RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS (ELOOP/EXDEV from openat2).</summary>
    public bool IsEscape => _escape;

    /// <summary>Throws for the errno left by the last P/Invoke.</summary>
    public static PosixException FromLastError(string operation, string? pathDisplay) =>
        new(Marshal.GetLastPInvokeError(), operation, pathDisplay);

    private static string Format(int errno, string operation, string? path, bool escape)
    {
        string what = Marshal.GetPInvokeErrorMessage(errno);
        string where = path is null ? "" : $" '{path}'";
        string why = escape ? " (path leaves the tree or crosses a symlink)" : "";
        return $"{operation}{where}: {what} (errno {errno}){why}";
    }
}
