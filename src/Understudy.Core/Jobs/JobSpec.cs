namespace Understudy.Core.Jobs;

/// <summary>
/// One job: a protection relationship from source directories on a source agent to a target path
/// on a target agent. Immutable; every optional setting has its documented default here (see
/// docs/job-file.md), so a spec made in code, read from YAML or received as JSON means the same.
/// Property names map to snake_case keys in YAML and JSON (<c>QueueLimit</c> ↔ <c>queue_limit</c>).
/// </summary>
internal sealed partial record JobSpec
{
    /// <summary>Default peer port of an agent.</summary>
    public const int DefaultPeerPort = 7420;

    /// <summary><c>name</c>: required; <c>[a-z0-9][a-z0-9._-]{0,62}</c>.</summary>
    public string Name { get; init; } = "";

    public SourceSpec Source { get; init; } = new();

    public TargetSpec Target { get; init; } = new();

    public MirrorSpec Mirror { get; init; } = new();

    public ReplicationSpec Replication { get; init; } = new();

    public VerifySpec Verify { get; init; } = new();

    /// <summary><c>failover</c>: null when the section is absent (no monitoring, no take-over).</summary>
    public FailoverSpec? Failover { get; init; }

    public RestoreSpec Restore { get; init; } = new();
}

/// <summary><c>source</c>.</summary>
internal sealed record SourceSpec
{
    /// <summary>Absolute, normalized directories; at least one; none inside another.</summary>
    public ValueList<string> Paths { get; init; } = ValueList<string>.Empty;

    /// <summary>gitignore-like patterns, relative to each source path (see <see cref="ExcludeMatcher"/>).</summary>
    public ValueList<string> Exclude { get; init; } = ValueList<string>.Empty;
}

/// <summary><c>target</c>.</summary>
internal sealed record TargetSpec
{
    /// <summary>The target agent's peer address; the port defaults to 7420.</summary>
    public HostPort Address { get; init; }

    /// <summary>The target agent's ID: 64 lowercase hex digits (SHA-256 of its certificate).</summary>
    public string Id { get; init; } = "";

    /// <summary>Absolute, normalized directory on the target; see <see cref="JobSpec.TargetDirFor"/>.</summary>
    public string Path { get; init; } = "";
}

/// <summary><c>mirror</c>.</summary>
internal sealed record MirrorSpec
{
    public MirrorMode Mode { get; init; } = MirrorMode.Different;

    public OrphanPolicy Orphans { get; init; } = OrphanPolicy.Keep;
}

/// <summary><c>replication</c>.</summary>
internal sealed record ReplicationSpec
{
    public const long DefaultQueueLimit = 1L << 30;

    public static readonly TimeSpan DefaultCoalesce = TimeSpan.FromMilliseconds(20);

    public static readonly TimeSpan DefaultMaxHold = TimeSpan.FromSeconds(1);

    /// <summary>False: the job only mirrors (on apply and on demand).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Bytes of unacknowledged changes kept on the source before "re-mirror required".</summary>
    public long QueueLimit { get; init; } = DefaultQueueLimit;

    /// <summary>Bytes per second; 0 = unlimited.</summary>
    public long Bandwidth { get; init; }

    public Compression Compression { get; init; } = Compression.Lz4;

    /// <summary>How long rapid changes to one file are held to be merged into one operation.</summary>
    public TimeSpan Coalesce { get; init; } = DefaultCoalesce;

    /// <summary>The longest a write to a file still open is held back, waiting for the file to be quiet for 1 s (or
    /// closed), before it is queued all the same: the bound on a busy open file's lag (issue 17).</summary>
    public TimeSpan MaxHold { get; init; } = DefaultMaxHold;

    /// <summary><c>write-order</c>: consistency points of a btrfs subvolume instead of the file-change queue
    /// (docs/adr/0001-write-order-mode.md); <c>coalesce</c>, <c>max_hold</c> and <c>queue_limit</c> do not apply then.</summary>
    public Consistency Consistency { get; init; } = Consistency.File;
}

/// <summary><c>verify</c>.</summary>
internal sealed record VerifySpec
{
    /// <summary>Period of a scheduled verify; null = none (verify only on demand).</summary>
    public TimeSpan? Schedule { get; init; }
}

/// <summary><c>restore</c>: the target → source data flow after a fail-over.</summary>
internal sealed record RestoreSpec
{
    public RestoreMode Mode { get; init; } = RestoreMode.Different;

    public ConflictPolicy Conflicts { get; init; } = ConflictPolicy.KeepTarget;

    /// <summary>The source's own setting applies (its job, not the target's copy): what the restore replaces or removes there.</summary>
    public ReplacedPolicy Replaced { get; init; } = ReplacedPolicy.Keep;
}
