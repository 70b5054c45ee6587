using Understudy.Agent.Replication;
using Understudy.Agent.Source;
using Understudy.Core.Paths;
using Understudy.Core.Queue;

namespace Understudy.Agent.Jobs;

internal sealed partial class JobRunner
{
    /// <summary>
    /// Reads the queue ahead of the replay for the files written while a mirror runs (<see cref="MirrorEngine.Early"/>).
    /// It only looks: the records stay queued, and the replay after the mirror sends them in order as always.
    /// </summary>
    private sealed class EarlyFeed(SegmentLog log, long afterSeq) : IEarlyChanges
    {
        private long _next = afterSeq + 1;

        public List<(int Root, RelPath Path)> Take(int max)
        {
            var files = new List<(int Root, RelPath Path)>();
            if (log.Stats.LastSeq < _next)
                return files;
            foreach (var rec in log.ReadFrom(_next))
            {
                _next = rec.Seq + 1;
                if (ReplicationRecord.TryDecode(rec.Payload.Span, out var r) && r.Kind == RecordKind.Upsert && !r.IsDirectory)
                    files.Add((r.Root, r.Path));
                if (files.Count >= max)
                    break;
            }
            return files;
        }
    }
}
