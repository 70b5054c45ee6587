using Understudy.Core.Jobs;

namespace Understudy.Agent.Failover;

/// <summary>
/// Where a plan's script is on this agent: inside its scripts directory and nowhere else. The name is checked again
/// here (a plan stored before the check existed), and the file itself after resolving every symlink, so that neither
/// '..' nor a link can lead a source's plan to an executable the target's operator did not put there (a script in
/// the replicated tree ran as root: issue 19, item 2). A file that group or others may write is refused too: whoever
/// can change it could run anything as the agent.
/// </summary>
internal static class ScriptPath
{
    /// <summary>The script's full path, or null with <paramref name="refused"/> saying why in words an operator acts on.</summary>
    public static string? Resolve(string scriptsDir, string run, out string refused)
    {
        refused = "";
        if (PlanPolicy.ScriptProblem(run) is { } problem)
        {
            refused = problem;
            return null;
        }
        var dir = Path.IsPathRooted(scriptsDir) ? Core.Posix.RealPaths.Of(scriptsDir) : null;
        if (dir is null)
        {
            refused = $"this agent's scripts directory {scriptsDir} does not exist (UNDERSTUDY_SCRIPTS_DIR; install the plan's scripts there)";
            return null;
        }
        var path = Path.Combine(scriptsDir, run);
        if (!File.Exists(path))
        {
            refused = $"{path} does not exist: install the script in this agent's scripts directory ({scriptsDir}, UNDERSTUDY_SCRIPTS_DIR)";
            return null;
        }
        var real = Core.Posix.RealPaths.Of(path) ?? path;
        if (!real.StartsWith(dir.TrimEnd('/') + "/", StringComparison.Ordinal))
        {
            refused = $"{path} leads out of the scripts directory {scriptsDir} (to {real}); copy the script into it instead of linking";
            return null;
        }
        var mode = File.GetUnixFileMode(real);
        if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            refused = $"{real} may be written by its group or by others (mode {Convert.ToString((int)mode, 8)}): run 'chmod go-w {real}'";
            return null;
        }
        return real;
    }
}
