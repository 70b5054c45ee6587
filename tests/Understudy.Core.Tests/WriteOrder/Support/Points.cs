using Understudy.Core.WriteOrder.Source;

namespace Understudy.Core.Tests.WriteOrder.Support;

internal static class Points
{
    /// <summary>A snapshot's image without the points directory's stand-in: a nested subvolume shows in a snapshot as
    /// an empty directory, which btrfs send does not send, so a replica never has it.</summary>
    public static TreeImage WithoutPointsDir(TreeImage snapshot)
    {
        var e = new SortedDictionary<string, string>(snapshot.Entries, StringComparer.Ordinal);
        e.Remove(PointSubvolume.PointsDirName);
        return new TreeImage(e);
    }
}
