namespace Understudy.Core.Posix;

/// <summary>Extended attributes through an open fd (never through a path, which would follow
/// a symlink planted in its place).</summary>
internal static unsafe class Xattrs
{
    public static IReadOnlyList<Xattr> Read(SafeFd fd, string display)
    {
        var names = ListNames(fd, display);
        var result = new List<Xattr>(names.Count);
        foreach (var name in names)
        {
            var value = TryGet(fd, name, display);
            if (value is not null)
                result.Add(new Xattr(name, value));
        }
        result.Sort((a, b) => a.Name.AsSpan().SequenceCompareTo(b.Name));
        return result;
    }

    /// <summary>Makes the fd's attribute set equal to <paramref name="xattrs"/>: sets each one and
    /// removes names not listed. Names this process may not remove (e.g. security.* without
    /// privilege) are left alone rather than failing the whole file.</summary>
    public static void Replace(SafeFd fd, IReadOnlyList<Xattr> xattrs, string display)
    {
        var wanted = new HashSet<string>(xattrs.Count, StringComparer.Ordinal);
        foreach (var x in xattrs)
            wanted.Add(Convert.ToHexString(x.Name));
        foreach (var name in ListNames(fd, display))
        {
            if (wanted.Contains(Convert.ToHexString(name)))
                continue;
            fixed (byte* n = Sys.Z(name))
            {
                if (Libc.fremovexattr(fd, n) != 0)
                {
                    int e = Sys.Errno;
                    if (e is not (Libc.ENODATA or Libc.EPERM or Libc.EACCES or Libc.EOPNOTSUPP))
                        throw new PosixException(e, "removexattr", display);
                }
            }
        }
        foreach (var x in xattrs)
        {
            fixed (byte* n = Sys.Z(x.Name))
            fixed (byte* v = x.Value)
            {
                if (FileSystem.Current.Fsetxattr(fd, n, v, (nuint)x.Value.Length, 0) != 0)
                    throw PosixException.FromLastError($"setxattr {Paths.RelPath.Display(x.Name)}", display);
            }
        }
    }

    private static List<byte[]> ListNames(SafeFd fd, string display)
    {
        while (true)
        {
            nint size = Libc.flistxattr(fd, null, 0);
            if (size < 0)
            {
                int e = Sys.Errno;
                if (e == Libc.EOPNOTSUPP)
                    return [];
                throw new PosixException(e, "listxattr", display);
            }
            if (size == 0)
                return [];
            var buf = new byte[size];
            nint n;
            fixed (byte* b = buf)
                n = Libc.flistxattr(fd, b, (nuint)buf.Length);
            if (n < 0)
            {
                if (Sys.Errno == Libc.ERANGE)
                    continue; // grew between the two calls
                throw PosixException.FromLastError("listxattr", display);
            }
            var names = new List<byte[]>();
            foreach (var range in buf.AsSpan(0, (int)n).Split((byte)0))
            {
                var name = buf.AsSpan(0, (int)n)[range];
                if (!name.IsEmpty)
                    names.Add(name.ToArray());
            }
            return names;
        }
    }

    private static byte[]? TryGet(SafeFd fd, byte[] name, string display)
    {
        var zname = Sys.Z(name);
        fixed (byte* z = zname)
        {
            while (true)
            {
                nint size = Libc.fgetxattr(fd, z, null, 0);
                if (size < 0)
                {
                    int e = Sys.Errno;
                    if (e == Libc.ENODATA)
                        return null; // removed since it was listed
                    throw new PosixException(e, "getxattr", display);
                }
                var value = new byte[size];
                nint n;
                fixed (byte* v = value)
                    n = Libc.fgetxattr(fd, z, v, (nuint)value.Length);
                if (n >= 0)
                    return n == size ? value : value.AsSpan(0, (int)n).ToArray();
                if (Sys.Errno != Libc.ERANGE)
                    throw PosixException.FromLastError("getxattr", display);
            }
        }
    }
}
