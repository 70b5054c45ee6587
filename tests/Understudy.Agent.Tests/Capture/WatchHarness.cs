using System.Diagnostics;
using Understudy.Agent.Replication.Capture;
using Understudy.Core.Paths;

namespace Understudy.Agent.Tests.Capture;

/// <summary>
/// A temp root, a watcher on it, and a reader that collects every event, so tests can wait on a
/// condition over what was seen (with a deadline) instead of sleeping.
/// </summary>
internal sealed class WatchHarness : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly List<ChangeEvent> _seen = [];
    private readonly Task _reader;
    private readonly string _base;

    private WatchHarness(string baseDir, string root, IChangeWatcher watcher, bool collect)
    {
        _base = baseDir;
        Root = root;
        Watcher = watcher;
        _reader = collect ? Task.Run(ReadAllAsync) : Task.CompletedTask;
    }

    public string Root { get; }

    /// <summary>A sibling directory outside the root, for moves into and out of it.</summary>
    public string Outside => Path.Combine(_base, "outside");

    public IChangeWatcher Watcher { get; }

    /// <summary>A harness whose events nobody reads: the test reads <see cref="IChangeWatcher.Events"/> itself.</summary>
    public static WatchHarness StartUnread(string method, WatcherOptions options) => Start(method, null, options, null, collect: false);

    public static WatchHarness Start(string method, Func<RelPath, bool>? excluded = null, WatcherOptions? options = null, Action<string>? prepare = null) =>
        Start(method, excluded, options, prepare, collect: true);

    private static WatchHarness Start(string method, Func<RelPath, bool>? excluded, WatcherOptions? options, Action<string>? prepare, bool collect)
    {
        var baseDir = Directory.CreateTempSubdirectory("understudy-capture-").FullName;
        var root = Path.Combine(baseDir, "root");
        Directory.CreateDirectory(root);
        Directory.CreateDirectory(Path.Combine(baseDir, "outside"));
        prepare?.Invoke(root);
        options ??= new WatcherOptions();
        options = options with { Prefer = Enum.Parse<WatcherMethod>(method) };
        try
        {
            return new WatchHarness(baseDir, root, ChangeWatcherFactory.Start(root, excluded, options), collect);
        }
        catch
        {
            Directory.Delete(baseDir, recursive: true);
            throw;
        }
    }

    public string P(string rel) => Path.Combine(Root, rel);

    public ChangeEvent[] Snapshot()
    {
        lock (_seen)
            return [.. _seen];
    }

    /// <summary>Waits until an event matching <paramref name="match"/> was seen; fails with what was seen at the deadline.</summary>
    public async Task<ChangeEvent> WaitForAsync(Func<ChangeEvent, bool> match, string what)
    {
        ChangeEvent? found = null;
        await WaitUntilAsync(s =>
        {
            foreach (var e in s)
            {
                if (match(e))
                {
                    found = e;
                    return true;
                }
            }
            return false;
        }, what);
        return found!.Value;
    }

    public Task<ChangeEvent> WaitForAsync(ChangeKind kind, string rel, string? what = null) =>
        WaitForAsync(e => e.Kind == kind && e.Path == RelPath.Parse(rel), what ?? $"{kind} {rel}");

    /// <summary>Polls a condition until it holds or the deadline passes.</summary>
    public static async Task PollAsync(Func<bool> condition, string what, Func<string>? detail = null)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > Deadline)
                throw new Xunit.Sdk.XunitException($"Timed out waiting for {what} {detail?.Invoke()}");
            await Task.Delay(5);
        }
    }

    /// <summary>Reads what the channel holds right now (unread harness only).</summary>
    public List<ChangeEvent> DrainNow()
    {
        var list = new List<ChangeEvent>();
        while (Watcher.Events.TryRead(out var e))
            list.Add(e);
        return list;
    }

    public async Task WaitUntilAsync(Func<ChangeEvent[], bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var s = Snapshot();
            if (condition(s))
                return;
            if (sw.Elapsed > Deadline || _reader.IsCompleted)
            {
                var tail = string.Join("\n  ", s.TakeLast(40));
                throw new Xunit.Sdk.XunitException($"Timed out waiting for {what}; {s.Length} events seen, last:\n  {tail}");
            }
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Writes a marker file and waits for it, then for the watcher to be settled with everything it published seen:
    /// every event caused before the marker has been read by then. (The marker alone is not enough: inotify lists a new
    /// directory after the read that reported it, so what it holds can come after events read with it, the marker's too.)
    /// </summary>
    public async Task BarrierAsync(string name = "zz-barrier")
    {
        await File.WriteAllTextAsync(P(name), "x");
        await WaitForAsync(ChangeKind.Modified, name);
        await PollAsync(() =>
        {
            // Under the reader's lock: an event is either still in the channel or in _seen. Settled first: what the
            // watcher publishes before it says so is in the channel by then.
            lock (_seen)
                return Watcher.Settled && Watcher.Events.Count == 0;
        }, "the watcher to settle after the barrier");
    }

    private async Task ReadAllAsync()
    {
        var events = Watcher.Events;
        while (await events.WaitToReadAsync())
        {
            lock (_seen)
            {
                while (events.TryRead(out var e))
                    _seen.Add(e);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Watcher.DisposeAsync();
        try
        {
            await _reader;
        }
        catch (WatcherException)
        {
        }
        try
        {
            Directory.Delete(_base, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
