using System.Globalization;
using Understudy.Agent.Replication.Capture;
using Understudy.Core.Paths;
using Xunit;

namespace Understudy.Agent.Tests.Capture;

[CollectionDefinition(nameof(SysctlCollection), DisableParallelization = true)]
public sealed class SysctlCollection
{
}

/// <summary>
/// A kernel queue overflow is forced: the queue limit is lowered just while the watcher's instance
/// is created (the kernel reads it at init time) and restored at once, and the watcher does not read
/// until the test has queued more than fits. The watcher must report Overflow(root).
/// </summary>
[Collection(nameof(SysctlCollection))]
public sealed class KernelOverflowTests
{
    [RootFact]
    public Task Inotify_QueueOverflow_ReportsOverflowOfRoot() =>
        ForceOverflowAsync(WatcherMethod.Inotify, "/proc/sys/fs/inotify/max_queued_events");

    [RootFact]
    public Task Fanotify_QueueOverflow_ReportsOverflowOfRoot() =>
        ForceOverflowAsync(WatcherMethod.Fanotify, "/proc/sys/fs/fanotify/max_queued_events");

    private static async Task ForceOverflowAsync(WatcherMethod method, string sysctl)
    {
        var gate = new TaskCompletionSource();
        var options = new WatcherOptions { ReadGate = gate.Task };
        WatchHarness h;
        var saved = File.ReadAllText(sysctl).Trim();
        try
        {
            File.WriteAllText(sysctl, "16");
            h = WatchHarness.Start(method.ToString(), options: options);
        }
        finally
        {
            File.WriteAllText(sysctl, saved);
        }
        await using (h)
        {
            Assert.Equal(saved, File.ReadAllText(sysctl).Trim());
            for (int i = 0; i < 100; i++)
                await File.WriteAllTextAsync(h.P($"f{i.ToString(CultureInfo.InvariantCulture)}"), "x");
            gate.SetResult();
            await h.WaitForAsync(e => e.Kind == ChangeKind.Overflow && e.Path.IsRoot, "Overflow(root)");
        }
    }
}
