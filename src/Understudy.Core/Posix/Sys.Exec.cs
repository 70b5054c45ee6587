using System.Runtime.InteropServices;

namespace Understudy.Core.Posix;

/// <summary>execve(2) from byte strings, for the two programs that replace themselves: the agent's JIT re-exec
/// (Hosting/AgentRuntime.cs) and the native CLI handing a verb to the managed program (ManagedProgram.cs).</summary>
internal static unsafe partial class Sys
{
    /// <summary>Replaces the process image with <paramref name="path"/>, run with <paramref name="argv"/> and
    /// <paramref name="envp"/> (strings without their NULs). Returns only when execve failed: its errno.</summary>
    public static int Exec(byte[] path, List<byte[]> argv, List<byte[]> envp)
    {
        var blocks = new List<nint>();
        try
        {
            Libc.execve(Terminated(path, blocks), Vector(argv, blocks), Vector(envp, blocks));
            return Errno;
        }
        finally
        {
            foreach (var b in blocks)
                NativeMemory.Free((void*)b);
        }
    }

    /// <summary>Splits a /proc NUL-separated list (cmdline, environ) into its strings, without the NULs.</summary>
    public static List<byte[]> SplitNul(ReadOnlySpan<byte> raw)
    {
        var list = new List<byte[]>();
        while (!raw.IsEmpty)
        {
            int i = raw.IndexOf((byte)0);
            var item = i < 0 ? raw : raw[..i];
            list.Add(item.ToArray());
            raw = i < 0 ? [] : raw[(i + 1)..];
        }
        return list;
    }

    private static byte** Vector(List<byte[]> items, List<nint> blocks)
    {
        var v = (byte**)NativeMemory.Alloc((nuint)(items.Count + 1), (nuint)sizeof(byte*));
        blocks.Add((nint)v);
        for (int i = 0; i < items.Count; i++)
            v[i] = Terminated(items[i], blocks);
        v[items.Count] = null;
        return v;
    }

    private static byte* Terminated(byte[] s, List<nint> blocks)
    {
        var b = (byte*)NativeMemory.Alloc((nuint)s.Length + 1);
        blocks.Add((nint)b);
        s.CopyTo(new Span<byte>(b, s.Length));
        b[s.Length] = 0;
        return b;
    }
}
