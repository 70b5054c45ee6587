using Understudy.Core.Posix;

namespace Understudy.Agent.Hosting;

/// <summary>
/// The agent and the CLI are one executable with one runtimeconfig, but want opposite JIT settings.
/// The agent runs best with tiered compilation off: its ReadyToRun code is used as it is and what has
/// none is compiled once, fully optimised (with tiering, ~30 % of a mirror's CPU went to tier-1 and
/// PGO re-compiles; docs/performance.md). A CLI process lives ~0.1 s and pays for full-opt JIT of the
/// few hundred generic methods ReadyToRun cannot hold (HttpClient, System.CommandLine, async builders):
/// ~0.05 s per call with tiering off. So the published runtimeconfig leaves tiering on and carries
/// <see cref="Switch"/>; `understudy agent` then replaces itself once, before doing anything, with the
/// same command line and environment plus <c>DOTNET_TieredCompilation=0</c> (execve of its own executable: the PID stays,
/// so systemd, signals and /proc/PID/status follow it).
/// </summary>
internal static class AgentRuntime
{
    /// <summary>runtimeconfig property (set on `dotnet publish`, src/Understudy.Cli/Understudy.Cli.csproj).</summary>
    public const string Switch = "Understudy.Agent.TieredCompilation";

    private const string Variable = "DOTNET_TieredCompilation";

    /// <summary>Re-executes with tiered compilation off when the runtimeconfig asks for it and the environment
    /// does not already say (either way) how to compile. Returns if it does not, or if execve fails.</summary>
    public static void ReexecIfRequested()
    {
        if (AppContext.GetData(Switch) is not string s || !bool.TryParse(s, out bool tiered) || tiered)
            return;
        byte[] argv, environ;
        try
        {
            argv = File.ReadAllBytes("/proc/self/cmdline");
            environ = File.ReadAllBytes("/proc/self/environ");
        }
        catch (IOException)
        {
            return;
        }
        // The executable by its own path, not /proc/self/exe: the kernel names the new image's process after the
        // file it ran (`ps`, `top` and the journal would show "exe").
        if (WithTieringOff(SplitNul(environ)) is { } env)
        {
            // Returns only on failure: the agent then runs as it is, with tiering on.
            _ = Sys.Exec(System.Text.Encoding.UTF8.GetBytes(Environment.ProcessPath ?? "/proc/self/exe"), SplitNul(argv), env);
        }
    }

    /// <summary>The environment with <c>DOTNET_TieredCompilation=0</c> added; null when it (or its COMPlus_ alias) is set already,
    /// which also stops a second re-exec.</summary>
    internal static List<byte[]>? WithTieringOff(List<byte[]> environ)
    {
        foreach (var e in environ)
        {
            var name = e.AsSpan(0, Math.Max(0, e.AsSpan().IndexOf((byte)'=')));
            if (name.SequenceEqual("DOTNET_TieredCompilation"u8) || name.SequenceEqual("COMPlus_TieredCompilation"u8))
                return null;
        }
        return [.. environ, System.Text.Encoding.ASCII.GetBytes(Variable + "=0")];
    }

    /// <summary>Splits a /proc NUL-separated list (cmdline, environ) into its strings, without the NULs.</summary>
    internal static List<byte[]> SplitNul(ReadOnlySpan<byte> raw) => Sys.SplitNul(raw);
}
