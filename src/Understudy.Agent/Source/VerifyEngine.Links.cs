using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal static partial class VerifyEngine
{
    /// <summary>
    /// Hard-link groups of both sides, as target paths: the names that are one file on the source must be one file on
    /// the target, with no other of the job's names. A target name the source lacks is reported as extra, not here; a
    /// link to a file outside the job is no part of a group (the mirror cannot carry it).
    /// </summary>
    private sealed class LinkGroups
    {
        private readonly Dictionary<(ulong Dev, ulong Ino), List<RelPath>> _source = [];
        private readonly Dictionary<ulong, List<RelPath>> _target = [];

        /// <summary>By (source file, target inode): every name of one group on both sides gets the same answer, so
        /// a file with thousands of names is compared once, not once per name.</summary>
        private readonly Dictionary<((ulong, ulong), ulong), bool> _same = [];

        public LinkGroups(JobDefinition job, List<FileEntry>[] walked, Dictionary<RelPath, ManifestItem> target)
        {
            for (int r = 0; r < walked.Length; r++)
            {
                var prefix = job.Roots[r].TargetPrefix;
                foreach (var e in walked[r])
                {
                    if (e.Kind != EntryKind.File)
                        continue;
                    var tp = e.Path.Rebase(RelPath.Root, prefix);
                    if (e.LinkCount > 1)
                        Add(_source, (e.Device, e.Inode), tp);
                    if (target.TryGetValue(tp, out var t) && t.Entry is { Kind: EntryKind.File, LinkCount: > 1 } te)
                        Add(_target, te.Inode, tp);
                }
            }
        }

        /// <summary>Null when <paramref name="tp"/> has the same other names on both sides.</summary>
        public string? Describe(RelPath tp, FileEntry source, FileEntry target)
        {
            if (source.LinkCount <= 1 && target.LinkCount <= 1)
                return null;
            List<RelPath> src = source.LinkCount > 1 ? _source.GetValueOrDefault((source.Device, source.Inode)) ?? [tp] : [tp];
            List<RelPath> tgt = target.LinkCount > 1 ? _target.GetValueOrDefault(target.Inode) ?? [tp] : [tp];
            bool same;
            if (target.LinkCount > 1)
            {
                var key = ((source.Device, source.Inode), target.Inode);
                if (!_same.TryGetValue(key, out same))
                    _same[key] = same = src.Count == tgt.Count && new HashSet<RelPath>(src).SetEquals(tgt);
            }
            else
            {
                same = src.Count == 1;
            }
            return same ? null : $"one file with {Others(src, tp)} on the source, with {Others(tgt, tp)} on the target";
        }

        private static string Others(List<RelPath> group, RelPath self)
        {
            var others = group.Where(p => p != self).ToList();
            if (others.Count == 0)
                return "no other name";
            var shown = string.Join(", ", others.Take(3).Select(p => p.ToString()));
            return others.Count > 3 ? $"{shown} and {others.Count - 3} more" : shown;
        }

        private static void Add<TKey>(Dictionary<TKey, List<RelPath>> groups, TKey key, RelPath tp)
            where TKey : notnull
        {
            if (!groups.TryGetValue(key, out var list))
                groups[key] = list = [];
            list.Add(tp);
        }
    }
}
