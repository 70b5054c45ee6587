using Understudy.Agent.Replication;
using Understudy.Core.Jobs;
using Understudy.Core.Paths;

namespace Understudy.Agent.Jobs;

// Restore and fail-back on the source (Restore/): what the passive source's runner tells the restore.
internal sealed partial class JobRunner
{
    /// <summary>
    /// The paths of every queued, unacknowledged record, per source root: the changes that never
    /// reached the target. Read when a restore begins, before the restore's own writes are captured.
    /// </summary>
    public IReadOnlySet<RelPath>[] QueuedPaths()
    {
        var sets = Job.Roots.Select(_ => new HashSet<RelPath>()).ToArray();
        if (_pipeline is null)
            return sets;
        _pipeline.Flush();
        foreach (var rec in _pipeline.Log.ReadFrom(0))
        {
            if (!ReplicationRecord.TryDecode(rec.Payload.Span, out var r) || r.Root >= sets.Length)
                continue;
            switch (r.Kind)
            {
                case RecordKind.Upsert or RecordKind.UpsertTree:
                    sets[r.Root].Add(r.Path);
                    break;
                case RecordKind.Rename:
                    sets[r.Root].Add(r.To);
                    break;
            }
        }
        return sets;
    }

    /// <summary>Fail-back is done: replicate forward again. A difference mirror first, which finds nothing when both sides
    /// are identical. The final sync made the source the target's copy, so ctimes since the capture point (the restore's
    /// own writes, a restart of this agent while passive) say nothing: size and mtime decide (FailbackAgentTests).</summary>
    public void ResumeAfterFailback() =>
        RequestMirror(MirrorMode.Different, "fail-back complete: forward replication resumes", catchUp: true, settled: true);
}
