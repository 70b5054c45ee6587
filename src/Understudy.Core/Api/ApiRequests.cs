using System.ComponentModel;

namespace Understudy.Core.Api;

// Request bodies. The OpenAPI document describes them from these types (their [Description]s label the console's forms).

/// <summary>
/// POST /trust: trust a peer, or change its entry. Without <see cref="Replace"/> an existing entry gains the roots and
/// privileges given (its name is changed when given); with it the entry's roots and privileges become exactly these.
/// </summary>
internal sealed record TrustRequest(
    string Id,
    string? Name,
    [property: Description("Directories this peer's jobs may write under, as a source (absolute, without symlinks)")] string[]? Roots = null,
    [property: Description("Apply set-user-ID and set-group-ID bits of this peer's files")] bool AllowSetuid = false,
    [property: Description("Apply security.* and trusted.* extended attributes of this peer's files")] bool AllowSecurityXattrs = false,
    [property: Description("Replace the entry's roots and privileges instead of adding to them")] bool Replace = false);

internal sealed record ApplyRequest(string Yaml, string? FileName);

/// <summary>POST /notify/test: one destination by name, or null for every one.</summary>
internal sealed record NotifyTestRequest(string? Destination);

internal sealed record MirrorRequest(string? Mode);

internal sealed record VerifyRequest(bool Checksum, bool Repair);

/// <summary>Runtime replication settings; a null field is left as it is.</summary>
internal sealed record ReplicationSettingsRequest(string? Bandwidth, string? Compression);

/// <summary>POST /failover/{name}: fail over now (or confirm a pending one), dismiss, or only list the steps.</summary>
internal sealed record FailoverRequest(bool Dismiss, bool DryRun, bool Force);

/// <summary>POST /failover/{name}/approve: approves the plan with this digest (the one the operator was shown; refused with 409 if it changed since).</summary>
internal sealed record ApproveRequest(string Digest);

/// <summary>POST /failover/{name}/restore.</summary>
internal sealed record RestoreRequest(
    [property: Description("Force: with restore.conflicts: manual, park the diverged files and go on (after you inspected them)")] bool Force = false);

/// <summary>POST /failover/{name}/failback: run it, or with <see cref="DryRun"/> only list its steps (and why it would be refused now).</summary>
internal sealed record FailbackRequest(
    [property: Description("Dry run: list the steps and whether fail-back would be refused now; nothing changes")] bool DryRun = false);
