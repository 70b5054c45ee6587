using System.CommandLine;
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
internal static class ManagedProgram
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
        var env = Sys.SplitNul(File.ReadAllBytes("/proc/self/environ"));
        int errno = Sys.Exec(argv[0], argv, env);
        Console.Error.WriteLine($"understudy: cannot run {path}: {Sys.ErrorText(errno)}");
        return ExitCodes.Error;
    }
}
