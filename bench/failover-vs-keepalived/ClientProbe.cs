using System.Net;
using Understudy.Testing.Lab;

namespace Understudy.Bench.Failover;

/// <summary>The client's view of a move: when the first good read came back, and how many tries it took.</summary>
internal sealed record FirstRead(DateTimeOffset At, int Attempts, string LastError, IReadOnlyList<Attempt> Log);

/// <summary>One smbclient attempt: when it started and ended, and how (for --verbose).</summary>
internal sealed record Attempt(DateTimeOffset Started, DateTimeOffset Ended, bool Ok, string Outcome);

/// <summary>
/// How the client side of a fail-over is measured. One smbclient attempt blocked on the dead
/// server sits in TCP SYN retransmission (1 s, then 2 s, ...), so a single polling loop would see
/// the new server up to a second late. Instead a fresh attempt starts every <see cref="Stagger"/>,
/// overlapping the ones still waiting (each bounded by <see cref="AttemptTimeout"/>): the first one
/// started after the address moved answers at once. The read counts when smbclient has returned
/// the expected bytes, so the figure includes smbclient's own start and SMB negotiation.
/// </summary>
internal static class ClientProbe
{
    public static readonly TimeSpan Stagger = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(2);

    public static async Task<FirstRead> FirstGoodReadAsync(LabHost client, IPAddress address, string share, string path, byte[] expected, TimeSpan deadline)
    {
        var unc = SmbClient.Unc(address, share);
        var done = new TaskCompletionSource<DateTimeOffset>(TaskCreationOptions.RunContinuationsAsynchronously);
        var inFlight = new List<Task>();
        var lastError = "";
        var until = DateTimeOffset.UtcNow + deadline;
        var attempts = 0;
        var log = new List<Attempt>();
        while (!done.Task.IsCompleted && DateTimeOffset.UtcNow < until)
        {
            attempts++;
            inFlight.Add(Task.Run(async () =>
            {
                var started = DateTimeOffset.UtcNow;
                var r = await SmbClient.TryReadFileAsync(client, unc, path, AttemptTimeout);
                var at = DateTimeOffset.UtcNow;
                var good = r.Ok && r.Content.AsSpan().SequenceEqual(expected);
                if (good)
                    done.TrySetResult(at);
                else
                    lastError = r.Ok ? "wrong content: " + r.Text : r.Error;
                lock (log)
                    log.Add(new Attempt(started, at, good, good ? "ok" : Short(lastError)));
            }));
            await Task.WhenAny(done.Task, Task.Delay(Stagger));
        }
        // Let the attempts still waiting end by their own timeout: none may outlive the lab.
        await Task.WhenAll(inFlight);
        if (!done.Task.IsCompleted)
            throw new LabException($"no good read of {unc}/{path} within {deadline.TotalSeconds:0} s ({attempts} attempts); last: {lastError}");
        return new FirstRead(await done.Task, attempts, lastError, [.. log.OrderBy(a => a.Started)]);
    }

    /// <summary>smbclient's NT_STATUS word (or the first words of its error) for the attempt log.</summary>
    private static string Short(string error)
    {
        var i = error.IndexOf("NT_STATUS_", StringComparison.Ordinal);
        if (i >= 0)
            return new string([.. error.Skip(i).TakeWhile(c => char.IsLetterOrDigit(c) || c == '_')]);
        return error.Length > 60 ? error[..60] : error;
    }

    public static void Print(FirstRead read, DateTimeOffset cut)
    {
        foreach (var a in read.Log)
            Console.WriteLine(FormattableString.Invariant($"    read {(a.Started - cut).TotalSeconds,7:0.000} → {(a.Ended - cut).TotalSeconds,7:0.000} s  {a.Outcome}"));
    }

    /// <summary>
    /// The median time of a few reads through the share while nothing moves: what one smbclient
    /// read costs on this machine at this load (process start, connect, SMB negotiation, get).
    /// A first good read can never come sooner than this after the server is ready.
    /// </summary>
    public static async Task<double> BaselineReadAsync(LabHost client, IPAddress address, string share, string path, int reads = 3)
    {
        var times = new List<double>();
        for (var i = 0; i < reads; i++)
        {
            var started = DateTimeOffset.UtcNow;
            await SmbClient.ReadFileAsync(client, SmbClient.Unc(address, share), path);
            times.Add((DateTimeOffset.UtcNow - started).TotalSeconds);
        }
        return Math.Round(Report.Median(times), 3);
    }

    /// <summary>
    /// Polls every 2 ms, without spawning anything, for the moment <paramref name="host"/> holds
    /// <paramref name="address"/>. On its own thread: the thread pool is busy with the client's
    /// smbclient processes and would delay a timer-based loop by a tenth of a second under load.
    /// </summary>
    public static Task<DateTimeOffset?> AddressAppearsAsync(LabHost host, IPAddress address, CancellationToken ct) =>
        Task.Factory.StartNew<DateTimeOffset?>(() =>
        {
            while (!ct.IsCancellationRequested)
            {
                if (host.Lab.AddressHolders(address).Contains(host))
                    return DateTimeOffset.UtcNow;
                Thread.Sleep(2);
            }
            return null;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
