namespace Understudy.Agent.Target;

/// <summary>
/// What TargetService asks of the fail-over side, kept to three calls so the replication code stays its own. Owned
/// here, below fail-over, and implemented there (FailoverManager), so the arrow runs down: the target knows only this.
/// </summary>
internal interface ITargetFailoverHooks
{
    /// <summary>Non-null: refuse the source's OpenJob with ErrorCode.Passive and this text.</summary>
    string? RefusalFor(string sourceId, string job);

    Task OnRegisteredAsync(string sourceId, string sourceName, string job, string jobJson);

    void OnSourceStatus(string sourceId, string job, string json);
}
