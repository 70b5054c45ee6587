namespace Understudy.Core.Protocol.Control;

/// <summary>"identity-status" (body <c>{}</c>).</summary>
internal sealed record IdentityStatusRequest;

/// <summary>The job's identity addresses (CIDR) the source host holds now.</summary>
internal sealed record IdentityStatusReply(IReadOnlyList<string> Held);

/// <summary>"reclaim" (body <c>{}</c>).</summary>
internal sealed record ReclaimRequest;

/// <summary>The addresses the source added back (after duplicate address detection); <see cref="Error"/> when it could not. The frame's ok flag is <see cref="Ok"/>.</summary>
internal sealed record ReclaimReply(bool Ok, string? Error, IReadOnlyList<string> Added);

/// <summary>"resume" (body <c>{}</c>).</summary>
internal sealed record ResumeRequest;

/// <summary>The source left passive mode (body <c>{}</c>).</summary>
internal sealed record ResumeReply;

/// <summary>A failed reply's body when the request itself was not understood.</summary>
internal sealed record ControlError(string Error);
