using Understudy.Core.Jobs;
using Understudy.Core.Paths;

namespace Understudy.Agent.Source;

/// <summary>One source directory of a job and where it lands below the job's target path.</summary>
internal sealed record SourceRoot(string Path, RelPath TargetPrefix);

/// <summary>What the source-side engines need of a job, derived from its job file in one place.
/// <see cref="JobJson"/>: the whole spec, sent to the target in OpenJob for its fail-over engine.</summary>
internal sealed record JobDefinition(
    string Name,
    IReadOnlyList<SourceRoot> Roots,
    Func<RelPath, bool, bool> IsExcluded,
    string TargetAddress,
    string TargetId,
    string TargetPath,
    MirrorMode MirrorMode,
    bool DeleteOrphans,
    string JobJson = "")
{
    /// <summary>Entries the target cannot take, shared by every engine of the job (copies made with <c>with</c> share it).</summary>
    public NotProtected Unprotected { get; init; } = new();
}
