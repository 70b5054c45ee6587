using Understudy.Agent.Events;
using Understudy.Core.Posix;

namespace Understudy.Agent.Target;

/// <summary>
/// The guard between a source's target path and this agent's own data directory (api-token,
/// identity.pfx, state.db). The source chooses the path, and it may also have chosen what is on
/// the way there (a symlink it replicated into its replica), so the guard compares real paths —
/// every symlink component resolved — never the text the source sent: once at registration, and
/// again on the directory a session actually opened (a link planted after registration, or
/// between the check and the open, is caught there).
/// </summary>
internal sealed partial class TargetService
{
    private string? _realDataDir;

    /// <summary>The data directory's own real path (it may itself sit behind a symlink).</summary>
    private string RealDataDir => _realDataDir ??= RealPaths.Of(Path.GetFullPath(dataDir)) ?? Path.GetFullPath(dataDir);

    /// <summary>Why <paramref name="path"/>, which really leads to <paramref name="real"/>, may not be written; null when it may.</summary>
    private string? DataDirRefusal(string path, string real)
    {
        if (real == "/")
            return path == real ? "the target path cannot be '/'" : $"target path {path} resolves to '/' (through a symlink); it cannot be the target path";
        if (!Overlaps(real, RealDataDir))
            return null;
        return path == real
            ? $"target path {path} overlaps the agent's data directory {dataDir}"
            : $"target path {path} resolves to {real} (through a symlink), which overlaps the agent's data directory {dataDir}; the target refuses it";
    }

    /// <summary>Another job's real target path for the overlap check; as written when it cannot be resolved now (unreadable, gone).</summary>
    private static string RealOrAsWritten(string path)
    {
        try
        {
            return RealPaths.Resolve(path);
        }
        catch (PosixException)
        {
            return path;
        }
    }

    /// <summary>The refusal for the directory a session opened, checked on the open fd itself: the data directory, then the roots.</summary>
    private Refusal? OpenedTreeRefusal(HostedJobInfo job, FsTree tree) =>
        DataDirRefusal(job.TargetPath, tree.RealRoot) is { } inData ? new(inData)
        : RootsRefusal(job, tree.RealRoot) is { } outside ? new(outside, EventCode.JobOutsideRoots)
        : null;

    /// <summary>Why the job's source may not write at its target path (really <paramref name="real"/>) under its trust
    /// entry's roots (TrustRoots.cs), read from the store at every use: a narrowed entry applies to the next session.</summary>
    private string? RootsRefusal(HostedJobInfo job, string real) =>
        TrustRoots.Refusal(store.GetTrust(job.SourceId), job.SourceId, job.SourceName, job.TargetPath, real);
}
