using Understudy.Core.Protocol.Control;

namespace Understudy.Agent.Target;

/// <summary>
/// What TargetService asks of the fail-over side, kept to four calls so the replication code stays its own. Owned
/// here, below fail-over, and implemented there (FailoverManager), so the arrow runs down: the target knows only this.
/// </summary>
internal interface ITargetFailoverHooks
{
    /// <summary>Non-null: refuse the source's OpenJob with ErrorCode.Passive and this text.</summary>
    string? RefusalFor(string sourceId, string job);

    Task OnRegisteredAsync(string sourceId, string sourceName, string job, string jobJson);

    void OnSourceStatus(string sourceId, string job, SourceStatusReport report);

    /// <summary>The source's trust was removed: disarm its fail-over plans, a line each in <paramref name="report"/>; returns the jobs kept (holding its identity).</summary>
    Task<IReadOnlySet<string>> DisarmAsync(string sourceId, List<string> report);
}
