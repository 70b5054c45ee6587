using System.CommandLine;
using System.Runtime.InteropServices;
using Understudy.Core.Posix;

namespace Understudy.Cli;

/// <summary>
/// The verbs this native client does not run itself (`agent`, `id`, `demo`, `job new`, `job check`: the agent's
/// assemblies, ASP.NET Core, YamlDotNet) are the managed program's: the client replaces itself with it (execve), with
/// the same arguments and environment, so the PID, the terminal, signals and systemd's notify socket carry over and the
/// verb behaves exactly as when the managed program is run directly. The managed program is <c>../understudy</c>
/// from this client's own file (the installed layout: OUT/understudy beside OUT/bin/understudy, docs/cli.md);
/// symbolic links to the client are followed first, so /usr/local/bin/understudy can point at OUT/bin/understudy.
/// </summary>
internal static unsafe class ManagedProgram
{
    /// <summary>The action of every verb the managed program runs. Returns only when the exec failed.</summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Action { get; } = (r, _) => Task.FromResult(Exec(r.CommandResult.Command.Name));

    /// <summary>The managed program's apphost for this client, or null when there is none.</summary>
    public static string? Locate()
    {
        var self = Environment.ProcessPath;
        if (self is null)
            return null;
        var real = new FileInfo(self).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? self;
        var path = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(real)!, "..", "understudy"));
        return File.Exists(path) ? path : null;
    }

    private static int Exec(string verb)
    {
        var path = Locate();
        if (path is null)
        {
            Console.Error.WriteLine($"understudy: '{verb}' runs in the managed program (OUT/understudy of 'dotnet publish src/Understudy.Cli -o OUT'), "
                + $"which this client looks for as ../understudy from {Environment.ProcessPath}: not found (docs/cli.md, \"Installing\")");
            return ExitCodes.Error;
        }
        var args = Environment.GetCommandLineArgs();
        var argv = new List<byte[]> { System.Text.Encoding.UTF8.GetBytes(path) };
        argv.AddRange(args.Skip(1).Select(System.Text.Encoding.UTF8.GetBytes));
        var env = SplitNul(File.ReadAllBytes("/proc/self/environ"));
        var blocks = new List<nint>();
        try
        {
            Libc.execve(Terminated(argv[0], blocks), Vector(argv, blocks), Vector(env, blocks));
        }
        finally
        {
            foreach (var b in blocks)
                NativeMemory.Free((void*)b);
        }
        Console.Error.WriteLine($"understudy: cannot run {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        return ExitCodes.Error;
    }

    /// <summary>/proc/self/environ's NUL-separated strings, without the NULs.</summary>
    private static List<byte[]> SplitNul(byte[] raw)
    {
        var list = new List<byte[]>();
        int start = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] != 0)
                continue;
            list.Add(raw[start..i]);
            start = i + 1;
        }
        if (start < raw.Length)
            list.Add(raw[start..]);
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
