using Microsoft.Extensions.Logging;
using Understudy.Core.Paths;

namespace Understudy.Agent.Replication.Capture;

internal static class ChangeWatcherFactory
{
    /// <summary>
    /// Starts watching <paramref name="rootPath"/> (absolute). As root with a kernel that supports it,
    /// fanotify (one filesystem mark, ready at once); otherwise inotify (recursive watches, set up in the
    /// background: see <see cref="IChangeWatcher.Ready"/>). <see cref="WatcherOptions.Prefer"/> can force one.
    /// <paramref name="excluded"/> is asked about relative paths; an excluded directory gets no watch and
    /// nothing at or below an excluded path is reported.
    /// </summary>
    /// <exception cref="WatcherException">The kernel refused (limits, permissions) or the root cannot be watched.</exception>
    public static IChangeWatcher Start(string rootPath, Func<RelPath, bool>? excluded, WatcherOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(rootPath);
        ArgumentNullException.ThrowIfNull(options);
        var method = options.Prefer;
        if (method == WatcherMethod.Auto)
            method = FanotifyWatcher.IsAvailable() ? WatcherMethod.Fanotify : WatcherMethod.Inotify;
        if (method == WatcherMethod.Fanotify)
        {
            try
            {
                return FanotifyWatcher.Start(rootPath, excluded, options, logger);
            }
            catch (WatcherException e) when (options.Prefer == WatcherMethod.Auto)
            {
                logger?.LogWarning("fanotify unavailable for {Root} ({Reason}); using inotify", rootPath, e.Message);
            }
        }
        return InotifyWatcher.Start(rootPath, excluded, options, logger);
    }
}
