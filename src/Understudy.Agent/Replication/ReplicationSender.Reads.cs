using Understudy.Core.Paths;

namespace Understudy.Agent.Replication;

internal sealed partial class ReplicationSender
{
    /// <summary>
    /// When the sender last began to read each path for an Upsert (single-linked files), so that an Upsert queued
    /// before that is known to be sent already: a file written without pause queues one a second (Coalescer.MaxHold),
    /// and a send of a big one (a delta reads it whole on both sides) can take longer than that. Without this the
    /// records queued during one send each sent it again, and the lag grew without end; with it, one send follows
    /// another and the file is as late as one send takes. A rename or deletion at or above a path forgets it: a
    /// record queued before the read but sent after such an operation may be about another file by then.
    /// </summary>
    private readonly Dictionary<(int Root, RelPath Path), long> _readSince = [];

    private long NowNs() => (_time.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    private bool ReadSince(ReplicationRecord r) =>
        r.QueuedAtNs is { } queued && _readSince.TryGetValue((r.Root, r.Path), out long began) && queued <= began;

    private void NoteRead(int root, RelPath path, long began)
    {
        if (_readSince.Count >= MaxRemembered)
            _readSince.Clear();
        _readSince[(root, path)] = began;
    }

    private void ForgetReads(int root, RelPath path, bool isDirectory)
    {
        if (_readSince.Count == 0)
            return;
        _readSince.Remove((root, path));
        if (isDirectory)
        {
            foreach (var k in _readSince.Keys.Where(k => k.Root == root && k.Path.IsUnder(path)).ToList())
                _readSince.Remove(k);
        }
    }
}
