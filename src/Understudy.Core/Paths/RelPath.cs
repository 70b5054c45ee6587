using System.Text;

namespace Understudy.Core.Paths;

/// <summary>
/// A path relative to a job root, kept as raw bytes because Linux file names are arbitrary
/// bytes except '/' and NUL (invalid UTF-8 included). Components are separated by '/'.
/// The empty path is the root itself. A RelPath is validated once, when it is made: it never
/// holds an empty, "." or ".." component, a NUL, or a leading or trailing '/', so code that
/// joins it under a root cannot be led outside that root by the path's text alone.
/// </summary>
internal readonly struct RelPath : IEquatable<RelPath>, IComparable<RelPath>
{
    private readonly byte[]? _bytes;

    private RelPath(byte[] bytes) => _bytes = bytes;

    public static RelPath Root => default;

    public ReadOnlySpan<byte> Bytes => _bytes;

    public bool IsRoot => _bytes is null || _bytes.Length == 0;

    public int Length => _bytes?.Length ?? 0;

    /// <summary>Validates raw bytes received from a peer or read from disk.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> bytes, out RelPath path)
    {
        path = default;
        if (bytes.IsEmpty)
            return true;
        if (bytes.Length > MaxLength)
            return false;
        int start = 0;
        for (int i = 0; i <= bytes.Length; i++)
        {
            if (i < bytes.Length && bytes[i] == 0)
                return false;
            if (i == bytes.Length || bytes[i] == (byte)'/')
            {
                if (!IsValidName(bytes[start..i]))
                    return false;
                start = i + 1;
            }
        }
        path = new RelPath(bytes.ToArray());
        return true;
    }

    public static RelPath Parse(ReadOnlySpan<byte> bytes) =>
        TryCreate(bytes, out var p) ? p : throw new ArgumentException($"Invalid relative path '{Display(bytes)}'.", nameof(bytes));

    public static RelPath Parse(string text) => Parse(Encoding.UTF8.GetBytes(text));

    /// <summary>Longest path accepted (Linux PATH_MAX).</summary>
    public const int MaxLength = 4096;

    /// <summary>True for a single file name: not empty, not "." or "..", no '/' or NUL, at most 255 bytes.</summary>
    public static bool IsValidName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || name.Length > 255)
            return false;
        if (name.Length == 1 && name[0] == (byte)'.')
            return false;
        if (name.Length == 2 && name[0] == (byte)'.' && name[1] == (byte)'.')
            return false;
        return name.IndexOfAny((byte)'/', (byte)0) < 0;
    }

    public RelPath Append(ReadOnlySpan<byte> name)
    {
        if (!IsValidName(name))
            throw new ArgumentException($"Invalid file name '{Display(name)}'.", nameof(name));
        if (IsRoot)
            return new RelPath(name.ToArray());
        var b = new byte[_bytes!.Length + 1 + name.Length];
        _bytes.CopyTo(b, 0);
        b[_bytes.Length] = (byte)'/';
        name.CopyTo(b.AsSpan(_bytes.Length + 1));
        return new RelPath(b);
    }

    /// <summary>The last component; empty for the root.</summary>
    public ReadOnlySpan<byte> Name
    {
        get
        {
            var s = Bytes;
            int i = s.LastIndexOf((byte)'/');
            return i < 0 ? s : s[(i + 1)..];
        }
    }

    /// <summary>The parent path; the root's parent is the root.</summary>
    public RelPath Parent
    {
        get
        {
            var s = Bytes;
            int i = s.LastIndexOf((byte)'/');
            return i < 0 ? Root : new RelPath(s[..i].ToArray());
        }
    }

    /// <summary>True when this path is <paramref name="ancestor"/> or lies below it.</summary>
    public bool IsUnder(RelPath ancestor)
    {
        if (ancestor.IsRoot)
            return true;
        var a = ancestor.Bytes;
        var s = Bytes;
        return s.StartsWith(a) && (s.Length == a.Length || s[a.Length] == (byte)'/');
    }

    /// <summary>Re-roots a path that lies under <paramref name="from"/> to lie under <paramref name="to"/>.</summary>
    public RelPath Rebase(RelPath from, RelPath to)
    {
        if (!IsUnder(from))
            throw new ArgumentException("Path is not under the given ancestor.", nameof(from));
        var rest = Bytes[from.Length..];
        if (!rest.IsEmpty && rest[0] == (byte)'/')
            rest = rest[1..];
        if (rest.IsEmpty)
            return to;
        if (to.IsRoot)
            return rest.Length == Length ? this : new RelPath(rest.ToArray()); // immutable bytes: shared, not copied
        var b = new byte[to.Length + 1 + rest.Length];
        to.Bytes.CopyTo(b);
        b[to.Length] = (byte)'/';
        rest.CopyTo(b.AsSpan(to.Length + 1));
        return new RelPath(b);
    }

    public bool Equals(RelPath other) => Bytes.SequenceEqual(other.Bytes);

    public override bool Equals(object? obj) => obj is RelPath p && Equals(p);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.AddBytes(Bytes);
        return h.ToHashCode();
    }

    /// <summary>Ordinal byte order, with '/' sorting before every other byte so a directory's
    /// entries follow it directly (the order both sides of a mirror walk in).</summary>
    public int CompareTo(RelPath other)
    {
        var a = Bytes;
        var b = other.Bytes;
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            if (a[i] == b[i])
                continue;
            if (a[i] == (byte)'/')
                return -1;
            if (b[i] == (byte)'/')
                return 1;
            return a[i] < b[i] ? -1 : 1;
        }
        return a.Length.CompareTo(b.Length);
    }

    public static bool operator ==(RelPath a, RelPath b) => a.Equals(b);

    public static bool operator !=(RelPath a, RelPath b) => !a.Equals(b);

    public static bool operator <(RelPath a, RelPath b) => a.CompareTo(b) < 0;

    public static bool operator >(RelPath a, RelPath b) => a.CompareTo(b) > 0;

    public static bool operator <=(RelPath a, RelPath b) => a.CompareTo(b) <= 0;

    public static bool operator >=(RelPath a, RelPath b) => a.CompareTo(b) >= 0;

    /// <summary>Human-readable form: UTF-8 where valid, other bytes as \xNN, control bytes escaped.</summary>
    public override string ToString() => IsRoot ? "." : Display(Bytes);

    public static string Display(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            var status = System.Text.Rune.DecodeFromUtf8(bytes, out var rune, out int used);
            if (status != System.Buffers.OperationStatus.Done)
            {
                sb.Append($"\\x{bytes[0]:x2}");
                bytes = bytes[1..];
                continue;
            }
            if (rune.Value < 0x20 || rune.Value == 0x7f || rune.Value == '\\')
                sb.Append(rune.Value == '\\' ? "\\\\" : $"\\x{rune.Value:x2}");
            else
                sb.Append(rune.ToString());
            bytes = bytes[used..];
        }
        return sb.ToString();
    }
}
