using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Core.Tests.WriteOrder.Support;

/// <summary>A test on a real btrfs: needs root (a loop mount) and btrfs-progs. Skipped with the reason on a
/// developer's machine without them, never on CI (CI=true), where .ci/run installs btrfs-progs and runs as root.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class BtrfsFactAttribute : FactAttribute
{
    public BtrfsFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("CI") is "true")
            return;
        if (Libc.geteuid() != 0)
            Skip = "needs root (euid 0) to loop-mount a btrfs image";
        else if (!File.Exists("/usr/sbin/mkfs.btrfs") && !File.Exists("/sbin/mkfs.btrfs"))
            Skip = "mkfs.btrfs not found: apt-get install -y btrfs-progs";
    }
}
