using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Understudy.Core.Jobs;

/// <summary>
/// Reads a job file. Every error names the file, line, column and key
/// (<see cref="JobFileException"/>); unknown keys are errors. This reader covers the sections the
/// mirror needs (name, source, target, mirror, replication); the others are rejected as unknown
/// until their parsers land.
/// </summary>
internal static class JobFile
{
    private static readonly Dictionary<string, string[]> Known = new()
    {
        [""] = ["name", "source", "target", "mirror", "replication"],
        ["source"] = ["paths", "exclude"],
        ["target"] = ["address", "id", "path"],
        ["mirror"] = ["mode", "orphans"],
        ["replication"] = ["enabled", "queue_limit", "bandwidth", "compression", "coalesce"],
    };

    public static JobSpec Parse(string yamlText, string fileName)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yamlText));
        }
        catch (YamlException e)
        {
            throw new JobFileException($"invalid YAML: {e.InnerException?.Message ?? e.Message}", "", fileName, (int)e.Start.Line, (int)e.Start.Column);
        }
        if (stream.Documents.Count != 1)
            throw new JobFileException(stream.Documents.Count == 0 ? "the file is empty" : "the file holds several YAML documents; one job per file", "", fileName, 1, 1);
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
            throw Error(stream.Documents[0].RootNode, "", "expected a mapping of keys (name:, source:, target:, ...)", fileName);

        var map = Map(root, "", fileName);
        var source = Section(map, "source", fileName);
        var target = Section(map, "target", fileName);
        var mirror = Section(map, "mirror", fileName);
        var repl = Section(map, "replication", fileName);
        var spec = new JobSpec
        {
            Name = Scalar(map, "name", "", fileName) ?? throw new JobFileException("required key is missing", "name", fileName, 1, 1),
            Source = new SourceSpec
            {
                Paths = new ValueList<string>(List(source, "paths", "source", fileName)),
                Exclude = new ValueList<string>(List(source, "exclude", "source", fileName)),
            },
            Target = new TargetSpec
            {
                Address = Scalar(target, "address", "target", fileName) is { } a
                    ? HostPort.TryParse(a, JobSpec.DefaultPeerPort, out var hp, out var err) ? hp : throw Error(target!["address"], "target.address", err, fileName)
                    : default,
                Id = Scalar(target, "id", "target", fileName) is { } id
                    ? JobValues.TryNormalizeAgentId(id, out var nid) ? nid : throw Error(target!["id"], "target.id", "expected the target agent's ID: 64 hex characters (run 'understudy id' on it)", fileName)
                    : "",
                Path = Scalar(target, "path", "target", fileName) ?? "",
            },
            Mirror = new MirrorSpec
            {
                Mode = Enum(mirror, "mode", "mirror", fileName, MirrorMode.Different),
                Orphans = Enum(mirror, "orphans", "mirror", fileName, OrphanPolicy.Keep),
            },
            Replication = new ReplicationSpec
            {
                Enabled = Scalar(repl, "enabled", "replication", fileName) is not { } en || (en.ToLowerInvariant() is "true" or "yes" or "on"
                    ? true : en.ToLowerInvariant() is "false" or "no" or "off" ? false : throw Error(repl!["enabled"], "replication.enabled", "expected true or false", fileName)),
                QueueLimit = Size(repl, "queue_limit", fileName, ReplicationSpec.DefaultQueueLimit),
                Bandwidth = Size(repl, "bandwidth", fileName, 0),
                Compression = Enum(repl, "compression", "replication", fileName, Compression.Lz4),
                Coalesce = Scalar(repl, "coalesce", "replication", fileName) is { } c
                    ? JobValues.TryParseDuration(c, out var d) ? d : throw Error(repl!["coalesce"], "replication.coalesce", $"{JobValues.DurationHint}, got '{c}'", fileName)
                    : ReplicationSpec.DefaultCoalesce,
            },
        };
        try
        {
            spec.Validate();
        }
        catch (JobFileException e)
        {
            var node = Locate(root, e.KeyPath);
            throw e.At(fileName, (int)(node?.Start.Line ?? 1), (int)(node?.Start.Column ?? 1));
        }
        return spec;
    }

    private static YamlNode? Locate(YamlMappingNode root, string keyPath)
    {
        YamlNode? node = root;
        foreach (var part in keyPath.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var key = part.Split('[')[0];
            if (node is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode(key), out var child))
                node = child;
            else
                break;
        }
        return node;
    }

    private static JobFileException Error(YamlNode? node, string key, string reason, string file) =>
        new(reason, key, file, (int)(node?.Start.Line ?? 1), (int)(node?.Start.Column ?? 1));

    private static Dictionary<string, YamlNode> Map(YamlMappingNode node, string path, string file)
    {
        var d = new Dictionary<string, YamlNode>();
        foreach (var (k, v) in node.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? throw Error(k, path, "keys must be plain words", file);
            var full = path.Length == 0 ? key : path + "." + key;
            if (!Known[path].Contains(key))
            {
                var hint = Known[path].OrderBy(c => Distance(c, key)).First();
                throw Error(k, full, $"unknown key{(Distance(hint, key) <= 3 ? $"; did you mean '{hint}'?" : "")} (known here: {string.Join(", ", Known[path])})", file);
            }
            if (!d.TryAdd(key, v))
                throw Error(k, full, "duplicate key", file);
        }
        return d;
    }

    private static Dictionary<string, YamlNode>? Section(Dictionary<string, YamlNode> map, string key, string file)
    {
        if (!map.TryGetValue(key, out var n) || n is YamlScalarNode { Value: null or "" or "~" })
            return null;
        return n is YamlMappingNode m ? Map(m, key, file) : throw Error(n, key, "expected a mapping of keys", file);
    }

    private static string? Scalar(Dictionary<string, YamlNode>? map, string key, string path, string file)
    {
        if (map is null || !map.TryGetValue(key, out var n))
            return null;
        var full = path.Length == 0 ? key : path + "." + key;
        return n is YamlScalarNode s ? s.Value : throw Error(n, full, "expected a single value", file);
    }

    private static IEnumerable<string> List(Dictionary<string, YamlNode>? map, string key, string path, string file)
    {
        if (map is null || !map.TryGetValue(key, out var n))
            return [];
        var full = path + "." + key;
        return n switch
        {
            YamlSequenceNode seq => seq.Children.Select(c => c is YamlScalarNode { Value: { } v } ? v : throw Error(c, full, "expected a list of strings", file)).ToList(),
            YamlScalarNode { Value: { } v } when v.Length > 0 => [v],
            _ => throw Error(n, full, "expected a list", file),
        };
    }

    private static T Enum<T>(Dictionary<string, YamlNode>? map, string key, string path, string file, T fallback) where T : struct, System.Enum
    {
        var v = Scalar(map, key, path, file);
        if (v is null)
            return fallback;
        foreach (var value in System.Enum.GetValues<T>())
        {
            if (string.Equals(value.ToString(), v.Replace("-", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase))
                return value;
        }
        var allowed = string.Join(" | ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()));
        throw Error(map![key], $"{path}.{key}", $"expected one of {allowed}, got '{v}'", file);
    }

    private static long Size(Dictionary<string, YamlNode>? map, string key, string file, long fallback)
    {
        var v = Scalar(map, key, "replication", file);
        if (v is null)
            return fallback;
        return JobValues.TryParseSize(v, out var b) ? b : throw Error(map![key], $"replication.{key}", $"{JobValues.SizeHint}, got '{v}'", file);
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
            d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++)
            d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        }
        return d[a.Length, b.Length];
    }
}
