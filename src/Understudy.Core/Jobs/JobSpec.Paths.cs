namespace Understudy.Core.Jobs;

// Where each source path lands on the target. One source path lands directly in target.path;
// with several, each lands in target.path/<basename>, which is why Validate refuses two source
// paths with the same basename.
internal sealed partial record JobSpec
{
    /// <summary>True when every source path lands in its own subdirectory of <c>target.path</c>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool UsesSubdirectories => Source.Paths.Count > 1;

    /// <summary>The target directory for one of <c>source.paths</c>.</summary>
    /// <exception cref="ArgumentException">The path is not one of the job's source paths.</exception>
    public string TargetDirFor(string sourcePath)
    {
        if (!Source.Paths.Contains(sourcePath, StringComparer.Ordinal))
            throw new ArgumentException($"'{sourcePath}' is not a source path of job '{Name}'.", nameof(sourcePath));
        return UsesSubdirectories ? Join(Target.Path, BaseName(sourcePath)) : Target.Path;
    }

    /// <summary>
    /// Maps any absolute source path at or under one of <c>source.paths</c> to its replica on the
    /// target (used for shares and exports). False when the path is outside every source path.
    /// </summary>
    public bool TryMapToTarget(string sourcePath, out string targetPath)
    {
        targetPath = "";
        foreach (var root in Source.Paths)
        {
            if (!JobValues.IsUnder(sourcePath, root))
                continue;
            var rest = sourcePath.Length == root.Length ? "" : sourcePath[(root == "/" ? 1 : root.Length + 1)..];
            var dir = TargetDirFor(root);
            targetPath = rest.Length == 0 ? dir : Join(dir, rest);
            return true;
        }
        return false;
    }

    /// <summary>The last component of a normalized absolute path.</summary>
    public static string BaseName(string path) => path[(path.LastIndexOf('/') + 1)..];

    private static string Join(string dir, string name) => dir == "/" ? "/" + name : dir + "/" + name;
}
