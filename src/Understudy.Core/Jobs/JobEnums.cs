using System.Reflection;
using System.Text.Json.Serialization;

namespace Understudy.Core.Jobs;

// The YAML spelling of every member is its [JsonStringEnumMemberName], so the job file and the
// JSON API always agree on the words; JobEnum<T> reads them once.

/// <summary><c>mirror.mode</c>: what a mirror compares before sending a file.</summary>
internal enum MirrorMode
{
    /// <summary>Send every file.</summary>
    [JsonStringEnumMemberName("full")] Full,
    /// <summary>Send files whose size or mtime differ.</summary>
    [JsonStringEnumMemberName("different")] Different,
    /// <summary>Compare content; send only changed blocks.</summary>
    [JsonStringEnumMemberName("checksum")] Checksum,
}

/// <summary><c>mirror.orphans</c>: files on the target that are not on the source.</summary>
internal enum OrphanPolicy
{
    [JsonStringEnumMemberName("keep")] Keep,
    [JsonStringEnumMemberName("delete")] Delete,
}

/// <summary><c>replication.compression</c>.</summary>
internal enum Compression
{
    [JsonStringEnumMemberName("none")] None,
    [JsonStringEnumMemberName("lz4")] Lz4,
    [JsonStringEnumMemberName("zstd")] Zstd,
}

/// <summary><c>replication.consistency</c>: what the target's copy is at any moment.</summary>
internal enum Consistency
{
    /// <summary>Each file is replicated as it is when sent: files may be of different moments.</summary>
    [JsonStringEnumMemberName("file")] File,
    /// <summary>The target is always one whole consistency point of the source (a btrfs snapshot; ADR 0001).</summary>
    [JsonStringEnumMemberName("write-order")] WriteOrder,
}

/// <summary><c>failover.monitor.addresses[].method</c>.</summary>
internal enum MonitorMethod
{
    [JsonStringEnumMemberName("icmp")] Icmp,
    [JsonStringEnumMemberName("tcp")] Tcp,
    /// <summary>An HTTP request; up when the status (and the body, if asked) is what the job expects.</summary>
    [JsonStringEnumMemberName("http")] Http,
    /// <summary>As <see cref="Http"/> over TLS; the certificate is not checked (a liveness probe, not a trust decision).</summary>
    [JsonStringEnumMemberName("https")] Https,
    /// <summary>smbclient connects to a share and, if named, reads a canary file.</summary>
    [JsonStringEnumMemberName("smb")] Smb,
    /// <summary>An ONC RPC NULL call to the NFS program (version 4): the NFS server itself answers.</summary>
    [JsonStringEnumMemberName("nfs")] Nfs,
    /// <summary>An operator's script in the target's scripts directory; up when it exits 0 within the timeout.</summary>
    [JsonStringEnumMemberName("script")] Script,
}

/// <summary><c>failover.monitor.policy</c>: which lost addresses mean the source is gone.</summary>
internal enum MonitorPolicy
{
    /// <summary>One lost address is enough.</summary>
    [JsonStringEnumMemberName("any")] Any,
    /// <summary>Only when every watched address is lost.</summary>
    [JsonStringEnumMemberName("all")] All,
    /// <summary>When the weights of the lost addresses add up to <c>monitor.threshold</c>.</summary>
    [JsonStringEnumMemberName("weight")] Weight,
}

/// <summary><c>failover.trigger</c>.</summary>
internal enum FailoverTrigger
{
    /// <summary>The job enters "fail-over pending" and waits for an operator.</summary>
    [JsonStringEnumMemberName("manual")] Manual,
    [JsonStringEnumMemberName("automatic")] Automatic,
}

/// <summary><c>failover.mode</c>.</summary>
internal enum FailoverMode
{
    /// <summary>The target keeps its own identity and adds the source's.</summary>
    [JsonStringEnumMemberName("add")] Add,
    /// <summary>The target gives up its own addresses and name and becomes the source.</summary>
    [JsonStringEnumMemberName("replace")] Replace,
}

/// <summary><c>restore.mode</c>: how the target → source mirror compares files.</summary>
internal enum RestoreMode
{
    [JsonStringEnumMemberName("different")] Different,
    [JsonStringEnumMemberName("checksum")] Checksum,
}

/// <summary><c>restore.conflicts</c>: a file changed on both sides during a fail-over.</summary>
internal enum ConflictPolicy
{
    /// <summary>The target's version wins; the source's is parked beside it under a conflict name.</summary>
    [JsonStringEnumMemberName("keep-target")] KeepTarget,
    /// <summary>The target's version wins; the source's is overwritten.</summary>
    [JsonStringEnumMemberName("discard-source")] DiscardSource,
    /// <summary>The restore stops at the first conflict for an operator to inspect.</summary>
    [JsonStringEnumMemberName("manual")] Manual,
}

/// <summary><c>restore.replaced</c>: what a restore does on the source with an entry it replaces or removes that is not a conflict.</summary>
internal enum ReplacedPolicy
{
    /// <summary>Kept under <c>.understudy-restore/SOURCE-TIME/</c> at the top of the source's tree (hidden from the restore and from replication).</summary>
    [JsonStringEnumMemberName("keep")] Keep,
    /// <summary>Replaced or removed like any mirror does.</summary>
    [JsonStringEnumMemberName("discard")] Discard,
}

/// <summary>The file/API spelling of an enum's members.</summary>
internal static class JobEnum<T>
    where T : struct, Enum
{
    private static readonly (string Name, T Value)[] s_members = typeof(T)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name.ToLowerInvariant(), (T)f.GetValue(null)!))
        .ToArray();

    public static IReadOnlyList<string> Names { get; } = s_members.Select(m => m.Name).ToArray();

    /// <summary>"a | b | c", for error messages.</summary>
    public static string Choices { get; } = string.Join(" | ", Names);

    public static bool TryParse(string text, out T value)
    {
        foreach (var (name, v) in s_members)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                value = v;
                return true;
            }
        }
        value = default;
        return false;
    }

    public static string Name(T value)
    {
        foreach (var (name, v) in s_members)
        {
            if (EqualityComparer<T>.Default.Equals(v, value))
                return name;
        }
        throw new ArgumentOutOfRangeException(nameof(value), value, null);
    }
}
