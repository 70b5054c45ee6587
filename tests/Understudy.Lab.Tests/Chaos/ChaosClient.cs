using System.Text;
using Understudy.LabTests.Failover;
using Understudy.Testing.Lab;

namespace Understudy.LabTests.Chaos;

/// <summary>One write of the chaos client: acknowledged when smbclient's put said so (exit 0, no NT status).</summary>
internal sealed record ChaosWrite(int Number, string Path, byte[] Content, bool Acked, DateTime At, string Error)
{
    public string Text => Encoding.UTF8.GetString(Content);
}

/// <summary>
/// The client host writing through the share at the service address for the whole run: numbered files
/// (<c>chaos/00001.txt</c>, …) with content that names the seed and the number, one smbclient put each (a fresh
/// connection, as a client reconnecting after a fail-over), and a ledger of which puts were acknowledged.
/// </summary>
internal sealed class ChaosClient : IAsyncDisposable
{
    public const string Dir = "chaos";
    private readonly FailoverLab _f;
    private readonly int _seed;
    private readonly List<ChaosWrite> _writes = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public ChaosClient(FailoverLab f, int seed)
    {
        _f = f;
        _seed = seed;
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    public IReadOnlyList<ChaosWrite> Writes
    {
        get
        {
            lock (_writes)
                return [.. _writes];
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
            await StopAsync();
        _stop.Dispose();
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        for (var n = 1; !ct.IsCancellationRequested; n++)
        {
            var path = $"{Dir}/{n:D5}.txt";
            var content = Encoding.UTF8.GetBytes($"chaos seed {_seed} write {n}\n");
            var at = DateTime.UtcNow;
            SmbRead r;
            try
            {
                // Not cancelled by the stop: a put under way finishes, so its outcome is known.
                r = await SmbClient.TryWriteFileAsync(_f.Lab.Client, _f.Unc, path, content, CancellationToken.None);
            }
            catch (Exception e) when (e is LabException or IOException or InvalidOperationException)
            {
                r = new SmbRead(false, [], e.Message);
            }
            lock (_writes)
                _writes.Add(new ChaosWrite(n, path, content, r.Ok, at, r.Error));
            try
            {
                await Task.Delay(100, ct); // pacing: a steady trickle, not a flood of smbclient processes on a shared machine
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
