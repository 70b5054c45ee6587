using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Agent.Tests.WriteOrder;

/// <summary>A database crash test on a real btrfs: root, btrfs-progs and the database's own programs. Skipped with the
/// reason elsewhere, never on CI (CI=true), where .ci/run installs btrfs-progs, sqlite3 and postgresql and runs as root.
/// Each row is one crash round with its own seed, so a failing round stays as a row of its own.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class DatabaseTheoryAttribute : TheoryAttribute
{
    public DatabaseTheoryAttribute(params string[] programs)
    {
        if (Environment.GetEnvironmentVariable("CI") is "true")
            return;
        if (Libc.geteuid() != 0)
            Skip = "needs root (euid 0) to loop-mount a btrfs image";
        else if (!File.Exists("/usr/sbin/mkfs.btrfs") && !File.Exists("/sbin/mkfs.btrfs"))
            Skip = "mkfs.btrfs not found: apt-get install -y btrfs-progs";
        else if (programs.FirstOrDefault(p => !File.Exists(p)) is { } missing)
            Skip = $"{missing} not found: apt-get install -y sqlite3 postgresql";
    }
}
