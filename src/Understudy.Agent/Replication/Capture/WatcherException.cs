namespace Understudy.Agent.Replication.Capture;

/// <summary>Change capture cannot start or continue (kernel refused, limits, root missing).</summary>
internal sealed class WatcherException : Exception
{
    public WatcherException(string message)
        : base(message)
    {
    }

    public WatcherException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public WatcherException()
    {
    }
}
