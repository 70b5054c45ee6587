using System.Text;
using Understudy.Core.Paths;
using Understudy.Core.Posix;

namespace Understudy.Agent.Replication.Capture;

/// <summary>The watched root as raw bytes, with the helpers that join and split paths under it.</summary>
internal sealed class RootPath
{
    public RootPath(string absolutePath)
    {
        if (!Path.IsPathRooted(absolutePath))
            throw new ArgumentException("The watched root must be an absolute path.", nameof(absolutePath));
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(absolutePath));
        Text = full.Length == 0 ? "/" : full;
        Bytes = Encoding.UTF8.GetBytes(Text);
    }

    public string Text { get; }

    /// <summary>The absolute root, no trailing '/' (except for "/" itself).</summary>
    public byte[] Bytes { get; }

    /// <summary>NUL-terminated absolute path of <paramref name="rel"/>.</summary>
    public byte[] Absolute(RelPath rel)
    {
        if (rel.IsRoot)
            return Sys.Z(Bytes);
        bool slashRoot = Bytes.Length == 1;
        var b = new byte[Bytes.Length + (slashRoot ? 0 : 1) + rel.Length + 1];
        Bytes.CopyTo(b, 0);
        int at = Bytes.Length;
        if (!slashRoot)
            b[at++] = (byte)'/';
        rel.Bytes.CopyTo(b.AsSpan(at));
        return b;
    }

    /// <summary>Maps an absolute byte path to a path relative to the root; false when it lies outside.</summary>
    public bool TryRelative(ReadOnlySpan<byte> absolute, out RelPath rel)
    {
        rel = RelPath.Root;
        if (Bytes.Length == 1)
            return RelPath.TryCreate(absolute.TrimStart((byte)'/'), out rel);
        if (!absolute.StartsWith(Bytes))
            return false;
        if (absolute.Length == Bytes.Length)
            return true;
        if (absolute[Bytes.Length] != (byte)'/')
            return false;
        return RelPath.TryCreate(absolute[(Bytes.Length + 1)..], out rel);
    }

    public override string ToString() => Text;
}
