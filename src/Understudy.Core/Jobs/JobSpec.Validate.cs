using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Understudy.Core.Jobs;

// Validation that needs no file system: the same rules and messages whether the spec came from a
// YAML file (JobFile.Parse adds the line) or from JSON over the API (key path only).
internal sealed partial record JobSpec
{
    public const string NamePattern = "[a-z0-9][a-z0-9._-]{0,62}";

    public static readonly TimeSpan MinVerifySchedule = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan MaxCoalesce = TimeSpan.FromSeconds(10);

    /// <summary>A longer hold would make a busy open file's replica as stale as the rule it bounds did (issue 17).</summary>
    public static readonly TimeSpan MaxMaxHold = TimeSpan.FromSeconds(60);

    public const long MinQueueLimit = 1L << 20;

    /// <summary>Throws <see cref="JobFileException"/> (no file, no line) at the first rule broken.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Name))
            Fail("name", "required: give the job a name like 'web-data'");
        if (!NameRegex().IsMatch(Name))
            Fail("name", $"expected lowercase letters, digits, '.', '_' or '-' (starting with a letter or digit, at most 63), got '{Name}'");
        ValidateSource();
        ValidateTarget();
        CheckEnum(Mirror.Mode, "mirror.mode");
        CheckEnum(Mirror.Orphans, "mirror.orphans");
        ValidateReplication();
        if (Verify.Schedule is { } schedule && schedule < MinVerifySchedule)
            Fail("verify.schedule", $"a verify schedule must be at least {JobValues.FormatDuration(MinVerifySchedule)}, or 'none', got '{JobValues.FormatDuration(schedule)}'");
        if (Failover is not null)
            ValidateFailover(Failover);
        CheckEnum(Restore.Mode, "restore.mode");
        CheckEnum(Restore.Conflicts, "restore.conflicts");
        CheckEnum(Restore.Replaced, "restore.replaced");
    }

    private void ValidateSource()
    {
        if (Source.Paths is null || Source.Paths.Count == 0)
            Fail("source.paths", "required: list at least one directory to protect, like [/srv/www]");
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Source.Paths.Count; i++)
        {
            var key = $"source.paths[{i}]";
            var p = CheckNormalizedPath(Source.Paths[i], key);
            if (p == "/")
                Fail(key, "the root directory '/' cannot be protected as a whole: list the directories under it");
            for (int j = 0; j < i; j++)
            {
                var other = Source.Paths[j];
                if (p == other)
                    Fail(key, $"'{p}' is listed twice");
                if (JobValues.IsUnder(p, other) || JobValues.IsUnder(other, p))
                    Fail(key, $"'{p}' overlaps source.paths[{j}] '{other}': one lies inside the other; list only the outer one and use source.exclude for the rest");
            }
            if (Source.Paths.Count > 1 && names.TryGetValue(BaseName(p), out int k))
                Fail(key, $"'{p}' and source.paths[{k}] '{Source.Paths[k]}' have the same last component '{BaseName(p)}' and would land in the same directory target.path/{BaseName(p)}; use one job per path or rename one");
            names.TryAdd(BaseName(p), i);
        }
        var exclude = Source.Exclude ?? ValueList<string>.Empty;
        for (int i = 0; i < exclude.Count; i++)
        {
            if (!GlobPattern.TryCompile(exclude[i], out _, out var error))
                Fail($"source.exclude[{i}]", error);
        }
    }

    private void ValidateTarget()
    {
        if (Target.Address.IsEmpty)
            Fail("target.address", "required: the target agent's address, like backup1.example:7420");
        if (!HostPort.IsValidHost(Target.Address.Host) || Target.Address.Port is < 1 or > 65535)
            Fail("target.address", $"expected host:port, got '{Target.Address}'");
        if (string.IsNullOrEmpty(Target.Id))
            Fail("target.id", "required: the target agent's ID (run 'understudy id' on the target)");
        if (!JobValues.TryNormalizeAgentId(Target.Id, out var id) || id != Target.Id)
            Fail("target.id", $"expected the target agent's ID: 64 lowercase hex digits, got '{Target.Id}'");
        if (string.IsNullOrEmpty(Target.Path))
            Fail("target.path", "required: the directory on the target that receives the replica, like /srv/replica/web");
        if (CheckNormalizedPath(Target.Path, "target.path") == "/")
            Fail("target.path", "the target path cannot be '/': give the replica a directory of its own");
    }

    private void ValidateReplication()
    {
        if (Replication.QueueLimit < MinQueueLimit)
            Fail("replication.queue_limit", $"the queue limit must be at least 1MiB, got '{JobValues.FormatSize(Replication.QueueLimit)}'");
        if (Replication.Bandwidth < 0)
            Fail("replication.bandwidth", "expected bytes per second (0 = unlimited), got a negative number");
        CheckEnum(Replication.Compression, "replication.compression");
        if (Replication.Coalesce < TimeSpan.Zero || Replication.Coalesce > MaxCoalesce)
            Fail("replication.coalesce", $"expected a duration from 0 to {JobValues.FormatDuration(MaxCoalesce)}, got '{JobValues.FormatDuration(Replication.Coalesce)}'");
        if (Replication.MaxHold < TimeSpan.Zero || Replication.MaxHold > MaxMaxHold)
            Fail("replication.max_hold", $"expected a duration from 0 to {JobValues.FormatDuration(MaxMaxHold)}, got '{JobValues.FormatDuration(Replication.MaxHold)}'");
        CheckEnum(Replication.Consistency, "replication.consistency");
        if (Replication.Consistency == Consistency.WriteOrder)
        {
            // A point is a snapshot of one whole btrfs subvolume: one path, all of it, replicated continuously.
            if (Source.Paths.Count != 1)
                Fail("replication.consistency", $"write-order protects exactly one source path (the root of one btrfs subvolume), got {Source.Paths.Count}; use one job per subvolume");
            if (Source.Exclude is { Count: > 0 })
                Fail("replication.consistency", "write-order replicates whole btrfs snapshots, so source.exclude cannot apply: remove it, or move the excluded data to another subvolume");
            if (!Replication.Enabled)
                Fail("replication.consistency", "write-order needs replication.enabled: true (the consistency points are its replication)");
        }
    }

    private static string CheckNormalizedPath(string? path, string key)
    {
        if (string.IsNullOrEmpty(path))
            Fail(key, "expected an absolute path, got an empty value");
        if (!JobValues.TryNormalizeAbsolutePath(path, out var normalized, out var error))
            Fail(key, error);
        if (normalized != path)
            Fail(key, $"expected a normalized path ('{normalized}'), got '{path}'");
        return path;
    }

    private static void CheckEnum<T>(T value, string key)
        where T : struct, Enum
    {
        if (!Enum.IsDefined(value))
            Fail(key, $"expected one of {JobEnum<T>.Choices}, got '{value}'");
    }

    private static void CheckRange(TimeSpan value, TimeSpan min, TimeSpan max, string key)
    {
        if (value < min || value > max)
            Fail(key, $"expected a duration from {JobValues.FormatDuration(min)} to {JobValues.FormatDuration(max)}, got '{JobValues.FormatDuration(value)}'");
    }

    private static void CheckRange(int value, int min, int max, string key)
    {
        if (value < min || value > max)
            Fail(key, $"expected a number from {min} to {max}, got {value}");
    }

    [DoesNotReturn]
    private static void Fail(string key, string reason) => throw new JobFileException(reason, key);

    [GeneratedRegex("^" + NamePattern + "$")]
    private static partial Regex NameRegex();
}
