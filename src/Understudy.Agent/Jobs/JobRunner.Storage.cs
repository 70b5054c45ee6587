using Understudy.Agent.Events;
using Understudy.Core.Queue;

namespace Understudy.Agent.Jobs;

/// <summary>
/// The source's own data directory refusing a write (full, over quota, read-only, failing: EIO on a write, a failed
/// fsync): the job's queue, its ack file (written through the file-system seam, Core/Queue/QueueDirectory.cs, so a
/// test's fault-injecting file system fails them). Before, the ack write threw an IOException that the retry loop
/// took for a lost link, and a capture batch that could not be queued ended the capture loop: `status` said
/// replicating while nothing moved. Now the job is in <see cref="JobState.Error"/> with the reason (so `wait` fails at
/// once), with one event, and probes the directory with back-off until a write succeeds, then resumes by itself. What
/// is durable in the queue stays queued (the ack point only stays behind: records the target has are sent again,
/// idempotently); records the queue could not make durable are dropped by it (event 890) and, like changes that could
/// not be queued, covered by the catch-up mirror, which runs once the queue can be written again.
/// </summary>
internal sealed partial class JobRunner
{
    /// <summary>What a probe writes (and syncs, and removes): a write that fits then is not a byte-sized sliver of space.</summary>
    private const int ProbeBytes = 64 * 1024;

    /// <summary>Non-null while the data directory refuses writes: the reason shown in status.</summary>
    private volatile string? _storageFault;

    private DateTimeOffset _storageFaultSince;

    /// <summary>A write to the data directory failed: the retry loop turns it into the storage fault state.</summary>
    private sealed class DataDirException(string reason, Exception inner) : Exception(reason, inner);

    private static bool IsStorageError(Exception e) => e is IOException or UnauthorizedAccessException;

    /// <summary>Runs a write to the job's queue; a refusal becomes <see cref="DataDirException"/> with the reason.</summary>
    private void QueueWrite(Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when (IsStorageError(e))
        {
            NoteDropped(e);
            throw new DataDirException(StorageReason(e), e);
        }
    }

    /// <summary>The queue dropped records it could not make durable (a failed write or fsync: Core/Queue/SegmentLog.cs):
    /// said with their number, and the changes they stood for are caught up by a difference mirror.</summary>
    private void NoteDropped(Exception e)
    {
        if (e is not QueueWriteException { Dropped: > 0 } q)
            return;
        _ctx.Events.Record(EventCode.QueueRecordsDropped, Severity.Warning, "queue", Job.Name,
            $"the replication queue could not make {q.Dropped} change records durable ({q.Message}): they are dropped, never sent "
            + "(after a failed fsync the written bytes cannot be trusted), and a difference mirror catches up what they stood for once the queue can be written again",
            new { dropped = q.Dropped, errno = q.HResult });
        RequestCatchUp("catch-up after changes the queue could not make durable (source data directory)");
    }

    private static string StorageReason(Exception e)
    {
        // The errno is the HResult of an IOException from a file call on Unix (ENOSPC 28, EDQUOT 122).
        bool full = e.HResult is 28 or 122 || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase);
        return full
            ? $"source data directory full ({e.Message}): replication waits, changes are caught up by a mirror; resumes by itself when space returns"
            : $"source data directory cannot be written ({e.Message}): replication waits, changes are caught up by a mirror; resumes by itself when it can be written again";
    }

    /// <summary>Enters (or stays in) the fault; one event per fault, not per retry.</summary>
    private void OnStorageFault(string reason)
    {
        if (_storageFault is null)
        {
            _storageFaultSince = _ctx.Time.GetUtcNow();
            _ctx.Events.Record(EventCode.SourceStorageFault, Severity.Error, "queue", Job.Name, reason);
        }
        _storageFault = reason;
        SetState(JobState.Error, reason);
    }

    /// <summary>The capture pipeline could not queue a batch: those changes (and the ones after, until a mirror) are
    /// caught up by a difference mirror, which waits for the queue to be writable again.</summary>
    private void OnQueueUnwritable(Exception e)
    {
        NoteDropped(e);
        OnStorageFault(StorageReason(e));
        RequestCatchUp("catch-up after changes that could not be queued (source data directory)");
        _wake.Pulse();
    }

    /// <summary>While in the fault: a probe write (data written, synced and removed, through the seam like the queue's
    /// writes) and the queue's own pending records. Throws <see cref="DataDirException"/> while it still fails; on
    /// success the job leaves the fault.</summary>
    private void ProbeStorage()
    {
        if (_storageFault is null)
            return;
        var dir = _pipeline is null ? _ctx.DataDir : Path.Combine(_ctx.DataDir, "queues", Job.Name);
        try
        {
            QueueDirectory.Probe(dir, ProbeBytes);
            _pipeline?.Flush();
        }
        catch (Exception e) when (IsStorageError(e))
        {
            NoteDropped(e);
            throw new DataDirException(StorageReason(e), e);
        }
        var lasted = _ctx.Time.GetUtcNow() - _storageFaultSince;
        _storageFault = null;
        _ctx.Events.Record(EventCode.SourceStorageHealed, Severity.Info, "queue", Job.Name,
            $"the source data directory can be written again after {lasted.TotalSeconds:0} s: replication resumes");
        SaveRuntime();
        SetState(RestState(), RestReason());
    }
}
