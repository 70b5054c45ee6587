using System.Globalization;
using Understudy.Testing;

namespace Understudy.Testing.Lab;

/// <summary>
/// Removes what a lab left behind. A test host killed with SIGKILL runs no Dispose, so every lab
/// start first sweeps labs whose owner (the guard route's metric) is dead, and namespaces with no
/// guard route at all (their owner died while tearing down: the route goes last).
/// </summary>
public static class LabSweeper
{
    private static readonly Lock Gate = new();

    public static void SweepStale()
    {
        lock (Gate)
        {
            var owners = GuardRoutes();
            foreach (var (id, pid) in owners)
            {
                if (!IsAlive(pid))
                    Destroy(id, pid);
            }
            foreach (var id in Namespaces().Select(n => n.Id).Distinct())
            {
                if (!owners.Any(o => o.Id == id))
                    Destroy(id, 0);
            }
            foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), LabId.Prefix + "*"))
            {
                if (LabId.TryParseTempDir(Path.GetFileName(dir), out _, out var pid) && !IsAlive(pid))
                    DeleteDir(dir);
            }
        }
    }

    /// <summary>Kills every process in the lab's namespaces, deletes them, its guard route and its dir.</summary>
    public static void Destroy(LabId id, int ownerPid)
    {
        foreach (var (name, _) in Namespaces().Where(n => n.Id == id))
        {
            KillAllIn(name);
            Shell.Run(["ip", "netns", "del", name]);
        }
        if (ownerPid > 0)
        {
            Shell.Run(["ip", "route", "del", "unreachable", id.Subnet, "metric", ownerPid.ToString(CultureInfo.InvariantCulture)]);
            DeleteDir(id.TempDir(ownerPid));
        }
    }

    public static IReadOnlyList<(string Name, LabId Id)> Namespaces()
    {
        var list = new List<(string, LabId)>();
        foreach (var line in Shell.Run(["ip", "netns", "list"]).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ', 2)[0];
            if (LabId.TryParseNamespace(name, out var id))
                list.Add((name, id));
        }
        return list;
    }

    public static IReadOnlyList<(LabId Id, int Pid)> GuardRoutes()
    {
        var list = new List<(LabId, int)>();
        foreach (var line in Shell.Run(["ip", "-4", "route", "show", "type", "unreachable"]).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (LabId.TryParseGuardRoute(line.Trim(), out var id, out var pid))
                list.Add((id, pid));
        }
        return list;
    }

    private static void KillAllIn(string ns)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var pids = Shell.Run(["ip", "netns", "pids", ns]).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (pids.Length == 0 || DateTime.UtcNow > deadline)
                return;
            foreach (var p in pids)
            {
                if (int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 1 && pid != Environment.ProcessId)
                    _ = Native.Kill(pid, 9);
            }
            Thread.Sleep(20); // tear-down poll: the kernel needs a moment to reap what was killed
        }
    }

    private static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}");

    private static void DeleteDir(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
