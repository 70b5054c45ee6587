using System.Text;
using Understudy.Core.Posix;

namespace Understudy.Agent.Identity;

/// <summary>
/// Understudy's part of smb.conf. Each job's fragment lives in <c>INCLUDE_DIR/jobs/JOB.shares.conf</c>,
/// <c>JOB.aliases</c> and (mode replace) <c>JOB.name</c>; they are merged into three files smb.conf includes:
/// <c>global.conf</c> (one <c>netbios aliases</c> line — inside [global], right after its header, so a later
/// line of the admin's own still wins), <c>shares.conf</c> (share sections, at the end of smb.conf) and
/// <c>name.conf</c> (mode replace: <c>netbios name</c> in a [global] section of its own, included last, so it
/// wins over the admin's own <c>netbios name</c> — the target then is the source, not an alias of it).
/// Merging lets several jobs fail over to one target without overwriting each other's aliases.
/// </summary>
internal sealed class SambaConfig(IdentityOptions options)
{
    public string GlobalInclude => Path.Combine(options.SambaIncludeDir, "global.conf");

    public string SharesInclude => Path.Combine(options.SambaIncludeDir, "shares.conf");

    public string NameInclude => Path.Combine(options.SambaIncludeDir, "name.conf");

    public string JobsDir => Path.Combine(options.SambaIncludeDir, "jobs");

    public string SharesFile(string job) => Path.Combine(JobsDir, job + ".shares.conf");

    public string AliasesFile(string job) => Path.Combine(JobsDir, job + ".aliases");

    public string NameFile(string job) => Path.Combine(JobsDir, job + ".name");

    public string[] ReloadArgs => ["-s", options.SmbConf, "smbd", "reload-config"];

    /// <summary>
    /// Serializes what changes the files of one include directory: a job's stage (on the suspect phase's thread) and a
    /// step's write (on the take-over's) both read the fragments to merge them.
    /// </summary>
    private static readonly Lock Gate = new();

    /// <summary>
    /// Writes (or with null, removes) one job's fragment, then regenerates the merged files and the include lines. A
    /// file staged with exactly the content it needs (<see cref="Stage"/>) is put in place by a rename alone.
    /// </summary>
    public void SetFragment(string path, string? content)
    {
        lock (Gate)
        {
            Directory.CreateDirectory(JobsDir);
            if (content is null)
                File.Delete(path);
            else if (!Holds(path, content))
                Put(path, content);
            Regenerate();
            DurableFile.Unstage(path);
        }
    }

    /// <summary>
    /// Writes durably, under staged names nothing includes, the fragment and the merged file <paramref name="include"/>
    /// as <see cref="SetFragment"/> would make them with <paramref name="content"/>, and changes nothing smbd reads
    /// (issue 21: staged while the source is suspect, so the take-over only renames and reloads). A stage gone stale
    /// (another job's fragment changed meanwhile) is never used: the take-over compares and writes in full.
    /// </summary>
    public void Stage(string path, string content, string include)
    {
        lock (Gate)
        {
            Directory.CreateDirectory(JobsDir);
            if (!Holds(path, content))
                DurableFile.Stage(path, content);
            var merged = Merged(path, content).First(m => m.Path == include).Content;
            if (!Holds(include, merged))
                DurableFile.Stage(include, merged);
        }
    }

    /// <summary>Removes what <see cref="Stage"/> wrote for <paramref name="path"/> and <paramref name="include"/> (the source answers again).</summary>
    public void Unstage(string path, string include)
    {
        lock (Gate)
        {
            DurableFile.Unstage(path);
            DurableFile.Unstage(include);
        }
    }

    /// <summary>True while anything is staged for <paramref name="path"/> or <paramref name="include"/> (tests wait on it).</summary>
    public static bool IsStaged(string path, string include) => DurableFile.IsStaged(path) || DurableFile.IsStaged(include);

    /// <summary>
    /// Rewrites only the merged files whose content changes: a share's fragment leaves the aliases and the name
    /// untouched, and each durable replacement costs two fsyncs on the take-over's path (issue 21). A file that already
    /// holds the content is left as it is.
    /// </summary>
    private void Regenerate()
    {
        foreach (var (path, content) in Merged())
        {
            if (!Holds(path, content))
                Put(path, content);
            DurableFile.Unstage(path);
        }
        EnsureIncluded();
    }

    private static void Put(string path, string content)
    {
        if (!DurableFile.CommitStaged(path, content))
            WriteAtomically(path, content);
    }

    private static bool Holds(string path, string content) => File.Exists(path) && File.ReadAllText(path) == content;

    /// <summary>The three merged files as the job fragments make them now (with <paramref name="path"/> holding <paramref name="content"/>, when given).</summary>
    private IEnumerable<(string Path, string Content)> Merged(string? path = null, string? content = null)
    {
        var fragments = Directory.EnumerateFiles(JobsDir).ToDictionary(f => Path.GetFileName(f), f => (string?)null, StringComparer.Ordinal);
        if (path is not null && content is null)
            fragments.Remove(Path.GetFileName(path));
        else if (path is not null)
            fragments[Path.GetFileName(path)] = content;
        string Read(string name) => fragments[name] ?? File.ReadAllText(Path.Combine(JobsDir, name));
        IEnumerable<string> Of(string suffix) => fragments.Keys.Where(n => n.EndsWith(suffix, StringComparison.Ordinal)).Order(StringComparer.Ordinal);
        var aliases = Of(".aliases")
            .SelectMany(f => Read(f).Split('\n')).Select(l => l.Trim()).Where(l => l.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        yield return (GlobalInclude, "# Written by Understudy: names this server answers to for failed-over jobs. Do not edit.\n"
            + (aliases.Count > 0 ? $"netbios aliases = {string.Join(' ', aliases)}\n" : ""));
        var shares = new StringBuilder("# Written by Understudy: shares of failed-over jobs. Do not edit.\n");
        foreach (var f in Of(".shares.conf"))
            shares.Append(Read(f));
        yield return (SharesInclude, shares.ToString());
        // One server has one name: with several jobs in mode replace (a mistake), the first by job name wins.
        var name = Of(".name")
            .SelectMany(f => Read(f).Split('\n')).Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0);
        yield return (NameInclude, "# Written by Understudy: the server name of a job failed over in mode replace. Do not edit.\n"
            + (name is null ? "" : $"[global]\n   netbios name = {name}\n"));
    }

    /// <summary>
    /// Null while <paramref name="fragment"/> holds <paramref name="content"/> and reaches smbd (its merged file
    /// <paramref name="include"/> is what the fragments make, smb.conf includes the three); otherwise the first thing that differs. Reads files only: no process, so the
    /// identity watch may ask every monitor interval.
    /// </summary>
    public string? Drift(string fragment, string content, string include)
    {
        if (!File.Exists(fragment) || File.ReadAllText(fragment) != content)
            return $"{fragment} is missing or changed";
        var merged = Merged().First(m => m.Path == include).Content;
        if (!File.Exists(include) || File.ReadAllText(include) != merged)
            return $"{include} is missing or changed";
        var text = File.Exists(options.SmbConf) ? File.ReadAllText(options.SmbConf) : "";
        return AddIncludes(text, GlobalInclude, SharesInclude, NameInclude) == text ? null : $"{options.SmbConf} no longer includes Understudy's files";
    }

    /// <summary>Adds the two include lines to smb.conf once; idempotent.</summary>
    public void EnsureIncluded()
    {
        var text = File.Exists(options.SmbConf) ? File.ReadAllText(options.SmbConf) : "";
        var updated = AddIncludes(text, GlobalInclude, SharesInclude, NameInclude);
        if (updated != text)
            WriteAtomically(options.SmbConf, updated);
    }

    public static string AddIncludes(string smbConf, string globalInclude, string sharesInclude, string nameInclude)
    {
        var lines = smbConf.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0)
            lines.RemoveAt(lines.Count - 1);
        bool Has(string inc) => lines.Any(l => IsInclude(l, inc));
        if (!Has(globalInclude))
        {
            int g = lines.FindIndex(l => l.Trim().Equals("[global]", StringComparison.OrdinalIgnoreCase));
            if (g < 0)
            {
                lines.Insert(0, "[global]");
                g = 0;
            }
            lines.Insert(g + 1, $"   include = {globalInclude}");
        }
        if (!Has(sharesInclude))
        {
            // Anything after a share section belongs to it; at the very end, this include starts fresh sections.
            lines.Add($"include = {sharesInclude}");
        }
        if (!Has(nameInclude))
        {
            // Last of all: its [global] section comes after every line of the admin's, so its netbios name wins.
            lines.Add($"include = {nameInclude}");
        }
        return string.Join('\n', lines) + "\n";
    }

    private static bool IsInclude(string line, string path)
    {
        var t = line.Trim();
        int eq = t.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 && t[..eq].Trim().Equals("include", StringComparison.OrdinalIgnoreCase) && t[(eq + 1)..].Trim() == path;
    }

    public static string RenderShares(string job, string sourceName, IEnumerable<(string Name, string Path, IEnumerable<(string Key, string Value)> Options)> shares)
    {
        var sb = new StringBuilder($"# job {job} (source {sourceName})\n");
        foreach (var (name, path, opts) in shares)
        {
            sb.Append('[').Append(name).Append("]\n");
            sb.Append("   path = ").Append(path).Append('\n');
            foreach (var (k, v) in opts)
                sb.Append("   ").Append(k.Trim()).Append(" = ").Append(v.Trim()).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Also the NFS step's writer: old or new content after a crash, mode and owner kept (<see cref="DurableFile"/>).</summary>
    internal static void WriteAtomically(string path, string content) => DurableFile.Replace(path, content);
}
