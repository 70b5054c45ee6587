using System.Reflection;
using Understudy.Agent.Replication.Capture;
using Xunit;
using Xunit.Sdk;

namespace Understudy.Agent.Tests.Capture;

/// <summary>The fanotify row of a watcher theory; skipped with a reason when the tests do not run as root.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class FanotifyDataAttribute : DataAttribute
{
    public FanotifyDataAttribute()
    {
        if (!TestLibc.IsRoot)
            Skip = "fanotify with a filesystem mark needs root (euid 0)";
    }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[nameof(WatcherMethod.Fanotify)]];
}

/// <summary>The inotify row of a watcher theory.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class InotifyDataAttribute : DataAttribute
{
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[nameof(WatcherMethod.Inotify)]];
}

/// <summary>Root-only facts (sysctl changes).</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!TestLibc.IsRoot)
            Skip = "needs root (euid 0) to change a sysctl";
    }
}
