namespace Understudy.Agent.Identity;

/// <summary>
/// A fail-over step whose effect lasts while the target holds the identity (an address on an interface, a share in
/// smb.conf, an export in ganesha.conf, a name) and can be checked: <c>Failover/IdentityKeeper</c> asks each one every
/// monitor interval whether what it set up is still there and applies it again when not (issue 20, item 4). Apply is
/// idempotent already (the journal may run it twice), so a repair is the step's own apply with its journal data.
/// </summary>
internal interface IHeldStep : IFailoverStep
{
    /// <summary>Null while what the step set up is in place; otherwise what is missing, in words for an event.</summary>
    Task<string?> DriftAsync(StepContext ctx, CancellationToken ct);
}
