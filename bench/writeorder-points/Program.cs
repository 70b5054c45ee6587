using System.Globalization;
using System.Runtime.InteropServices;
using Understudy.Core.WriteOrder.Source;

namespace Understudy.Bench.WriteOrderPoints;

/// <summary>
/// writeorder-points PATH INTERVAL_MS DELTA_DIR LOG: takes points of the subvolume holding PATH every INTERVAL_MS
/// (PointLoop: skipped when unchanged, the next snapshot taken while the previous point is sent), until SIGTERM or
/// SIGINT. Per point sent, one line in LOG: seq, snapshot start (ns since the epoch), snapshot end, send end, delta
/// bytes, commands. The first point (the whole subvolume) is taken and sent before "ready" is printed.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length != 4)
        {
            Console.Error.WriteLine("usage: writeorder-points PATH INTERVAL_MS DELTA_DIR LOG");
            return 2;
        }
        using var stop = new CancellationTokenSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        string deltas = args[2];
        using var log = new StreamWriter(args[3], append: true) { AutoFlush = true };
        using var source = PointSource.Open(args[0], TimeProvider.System);
        var first = source.TryTake() ?? throw new InvalidOperationException("no first point");
        await using (var f = File.Create(Path.Combine(deltas, "full")))
            await source.SendAsync(first, null, f, stop.Token);
        File.Delete(Path.Combine(deltas, "full"));
        Console.WriteLine("ready");
        var loop = new PointLoop(source, TimeProvider.System, TimeSpan.FromMilliseconds(int.Parse(args[1], CultureInfo.InvariantCulture)), first,
            p => new DeleteOnClose(Path.Combine(deltas, p.Name)),
            r =>
            {
                var end = DateTimeOffset.UtcNow;
                log.WriteLine(string.Join(' ', r.Seq, Ns(r.TakenAt), Ns(r.TakenAt + r.SnapshotTime), Ns(end), r.DeltaBytes, r.Commands));
            });
        await loop.RunAsync(stop.Token);
        foreach (var p in source.Kept)
            source.Destroy(p);
        return 0;
    }

    private static long Ns(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    /// <summary>A delta file that is gone once written: what a network send costs the source, minus the network.</summary>
    private sealed class DeleteOnClose(string path) : FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
}
