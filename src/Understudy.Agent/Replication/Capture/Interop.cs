namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// The kernel interfaces only change capture uses: inotify(7) (<see cref="Inotify"/>) and fanotify(7)
/// (<see cref="Fanotify"/>), with their constants and record layouts. Every other libc call (open, read, poll, statx,
/// close, …) has its one binding in <c>Understudy.Core.Posix.Libc</c>, shared with the mirror and the applier; these
/// stay here, next to their one user, rather than widen the file-system layer with APIs it has no use for. Paths
/// cross this boundary as NUL-terminated byte strings, never as .NET strings, because Linux names may be invalid UTF-8.
/// </summary>
internal static unsafe partial class Interop
{
    private const string Lib = "libc";
}
