namespace Understudy.Core.Api;

/// <summary>
/// How much of its event log an agent keeps unless told (`agent --events-keep`, `--events-keep-days`). Here, not in the
/// agent, because the CLI's `agent --help` shows them and the native client (src/Understudy.Cli.Native) has no agent.
/// </summary>
internal static class EventRetentionDefaults
{
    public const int MaxEvents = 100_000;
    public const int MaxAgeDays = 90;
}
