using System.Diagnostics;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.Agent.Tests.Replication;

/// <summary>
/// A file kept open and written without pause (a database's) in a file-mode job: its writes are held back while it is
/// written (so one being written is not shipped over and over), but at most <c>replication.max_hold</c>; the target
/// must get recent content while the writer still runs, not only once it stops (issue 17: the replica of a busy
/// database was stale by the whole run).
/// </summary>
public sealed class BusyOpenFileTests(ITestOutputHelper output)
{
    /// <summary>Far beyond the promised bound (max_hold, 1 s, plus a send), for a loaded CI machine: a replica that lags
    /// by a whole run fails it all the same, since the writer runs until the test has what it waits for.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AFileWrittenEvery50ms_NeverQuiet_ReachesTheTargetWhileItIsStillWritten()
    {
        await using var pair = await ReplicationTests.StartMirroredAsync();
        var source = Path.Combine(pair.SourceData, "busy.db");
        var target = Path.Combine(pair.TargetData, "busy.db");
        using var stop = new CancellationTokenSource();
        long written = 0;
        var writer = Task.Run(async () =>
        {
            await using var fs = new FileStream(source, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
            for (long n = 1; !stop.IsCancellationRequested; n++)
            {
                await fs.WriteAsync(Encoding.ASCII.GetBytes($"{n}\n"));
                await fs.FlushAsync(); // one write(2): the file is modified, never closed
                Volatile.Write(ref written, n);
                await Task.Delay(50);
            }
        });
        try
        {
            // Three rounds: each waits for a line written after the writer had run for a while, so the file was
            // never quiet for the 1 s a settled write needs; the second and third show it keeps coming.
            for (int round = 0; round < 3; round++)
            {
                await Task.Delay(TimeSpan.FromSeconds(3)); // the workload: the writer runs on, never quiet for 1 s
                long mark = Volatile.Read(ref written);
                var clock = Stopwatch.StartNew();
                while (LastLine(target) < mark)
                {
                    Assert.False(writer.IsCompleted, $"the writer stopped: {writer.Exception}");
                    Assert.True(clock.Elapsed < Deadline,
                        $"round {round}: the target has line {LastLine(target)} of busy.db after {clock.Elapsed.TotalSeconds:0.0} s; "
                        + $"line {mark} was written then, {Volatile.Read(ref written)} now\nSOURCE:\n{pair.Source.Log}");
                    await Task.Delay(50);
                }
                output.WriteLine($"round {round}: line {mark} on the target {clock.Elapsed.TotalSeconds:0.00} s after it was written (writer at {Volatile.Read(ref written)})");
            }
            Assert.False(writer.IsCompleted, "the writer must still be running: the content came while it wrote");
        }
        finally
        {
            await stop.CancelAsync();
            await writer;
        }

        // Once it is closed the last of it follows.
        await ReplicationTests.WaitIdleAsync(pair);
        Assert.Equal(File.ReadAllText(source), File.ReadAllText(target));
    }

    /// <summary>The last whole line of the replica (0: none yet). Read as the target's readers would see it: a file is
    /// published whole under its name, so any copy read is one the source had at some moment.</summary>
    private static long LastLine(string path)
    {
        try
        {
            var lines = File.ReadAllText(path).Split('\n');
            return lines.Length >= 2 && long.TryParse(lines[^2], out long n) ? n : 0;
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
    }
}
