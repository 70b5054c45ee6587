using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Understudy.Core.Jobs;

/// <summary>
/// The job file: YAML in, <see cref="JobSpec"/> out, and back (<see cref="ToYaml"/>). Mapped by
/// hand from YamlDotNet's representation model so that every error can name its line and key.
/// Reference: docs/job-file.md.
/// </summary>
internal static partial class JobFile
{
    private static readonly string[] s_rootKeys = ["name", "source", "target", "mirror", "replication", "verify", "failover", "restore"];

    /// <summary>Parses and validates one job.</summary>
    /// <param name="yamlText">The file's text.</param>
    /// <param name="fileName">Used in error messages only.</param>
    /// <exception cref="JobFileException">The file is not a valid job; the message says where and why.</exception>
    public static JobSpec Parse(string yamlText, string fileName)
    {
        var reader = new YamlReader(fileName);
        var root = LoadSingleDocument(yamlText, fileName);
        if (root is not YamlMappingNode map)
            throw reader.Error(root, "", $"expected a job: keys like 'name:', 'source:' and 'target:'; got {YamlReader.Describe(root)}");
        reader.Remember("", map);
        var spec = ReadJob(reader, map);
        try
        {
            spec.Validate();
        }
        catch (JobFileException e) when (e.Line == 0)
        {
            var at = reader.LocationOf(e.KeyPath);
            throw e.At(fileName, (int)at.Line, (int)at.Column);
        }
        return spec;
    }

    private static YamlNode LoadSingleDocument(string yamlText, string fileName)
    {
        var stream = new YamlStream();
        var parser = new MarkTrackingParser(new Parser(new StringReader(yamlText)), fileName);
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            var reason = YamlMarkPrefix().Replace(e.Message, "");
            if (reason.StartsWith("Duplicate key ", StringComparison.Ordinal))
            {
                var key = reason["Duplicate key ".Length..];
                throw new JobFileException($"duplicate key '{key}': each key may appear only once", key, fileName, (int)e.Start.Line, (int)e.Start.Column);
            }
            int line = (int)e.Start.Line, column = (int)e.Start.Column;
            if (reason.Contains("tab", StringComparison.OrdinalIgnoreCase) && FirstTabIndent(yamlText) is { } tabLine)
            {
                // YamlDotNet reports a tab in indentation at the start of the enclosing block; point at the tab.
                (line, column, reason) = (tabLine, 1, "a tab is used for indentation; YAML allows spaces only");
            }
            throw new JobFileException($"invalid YAML: {reason}", "", fileName, line, column);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet 16.3's scanner throws these, without a position, on some unterminated flow
            // collections ("[a, b" followed by more lines), and its loader on an empty key before a nested
            // one (found by fuzzing): place it after the last good token.
            throw new JobFileException("invalid YAML: an unterminated '[...]' or '{...}', or a stray character, after this point", "", fileName, (int)parser.LastGood.Line, (int)parser.LastGood.Column);
        }
        if (stream.Documents.Count == 0 || YamlReader.IsNull(stream.Documents[0].RootNode))
            throw new JobFileException("the file is empty: a job needs at least 'name', 'source' and 'target' (see docs/job-file.md)", "", fileName, 1, 1);
        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode;
            throw new JobFileException("several YAML documents ('---') in one file: a job file holds exactly one job", "", fileName, (int)second.Start.Line, (int)second.Start.Column);
        }
        return stream.Documents[0].RootNode;
    }

    private static JobSpec ReadJob(YamlReader r, YamlMappingNode map)
    {
        var keys = r.Keys(map, "", s_rootKeys);
        var name = r.RequiredString(keys, map, "", "name", "give the job a name like 'web-data'");
        if (!keys.ContainsKey("source"))
            throw r.Error(map, "source", "required: the directories to protect, like 'source: { paths: [/srv/www] }'");
        if (!keys.ContainsKey("target"))
            throw r.Error(map, "target", "required: where the replica goes, with 'address', 'id' and 'path'");
        return new JobSpec
        {
            Name = name,
            Source = ReadSource(r, keys["source"]),
            Target = ReadTarget(r, keys["target"]),
            Mirror = ReadMirror(r, keys.GetValueOrDefault("mirror")),
            Replication = ReadReplication(r, keys.GetValueOrDefault("replication")),
            Verify = ReadVerify(r, keys.GetValueOrDefault("verify")),
            Failover = ReadFailover(r, keys.GetValueOrDefault("failover")),
            Restore = ReadRestore(r, keys.GetValueOrDefault("restore")),
        };
    }

    private static SourceSpec ReadSource(YamlReader r, YamlNode node)
    {
        const string P = "source";
        var map = r.Mapping(node, P, "'{ paths: [/srv/www] }'") ?? throw r.Error(node, P, "required: list the directories to protect under 'paths'");
        var keys = r.Keys(map, P, "paths", "exclude");
        if (!keys.TryGetValue("paths", out var pathsNode) || YamlReader.IsNull(pathsNode))
            throw r.Error(pathsNode ?? map, "source.paths", "required: list at least one directory to protect, like [/srv/www]");
        var paths = r.Sequence(pathsNode, "source.paths", "[/srv/www, /srv/shares]");
        var exclude = r.Sequence(keys.GetValueOrDefault("exclude"), "source.exclude", "[\"*.tmp\", \"cache/\"]");
        return new SourceSpec
        {
            Paths = paths.Select((n, i) => r.AbsolutePath(n, $"source.paths[{i}]") ?? throw r.Error(n, $"source.paths[{i}]", "expected a directory, got an empty value")).ToValueList(),
            Exclude = exclude.Select((n, i) => r.String(n, $"source.exclude[{i}]") ?? throw r.Error(n, $"source.exclude[{i}]", "an exclude pattern cannot be empty")).ToValueList(),
        };
    }

    private static TargetSpec ReadTarget(YamlReader r, YamlNode node)
    {
        const string P = "target";
        var map = r.Mapping(node, P, "'{ address: backup1:7420, id: ..., path: /srv/replica }'") ?? throw r.Error(node, P, "required: 'address', 'id' and 'path' of the replica");
        var keys = r.Keys(map, P, "address", "id", "path");
        var addressText = r.RequiredString(keys, map, P, "address", "the target agent's address, like backup1.example:7420");
        if (!HostPort.TryParse(addressText, JobSpec.DefaultPeerPort, out var address, out var addressError))
            throw r.Error(keys["address"], "target.address", $"expected host:port like backup1.example:7420 or [2001:db8::1]:7420: {addressError}");
        var idText = r.RequiredString(keys, map, P, "id", "the target agent's ID (run 'understudy id' on the target)");
        if (!JobValues.TryNormalizeAgentId(idText, out var id))
            throw r.Error(keys["id"], "target.id", $"expected the target agent's ID: 64 hex digits (':' separators allowed), got '{idText}'");
        r.RequiredString(keys, map, P, "path", "the directory on the target that receives the replica, like /srv/replica/web");
        return new TargetSpec { Address = address, Id = id, Path = r.AbsolutePath(keys["path"], "target.path")! };
    }

    private static MirrorSpec ReadMirror(YamlReader r, YamlNode? node)
    {
        var d = new MirrorSpec();
        if (r.Mapping(node, "mirror", "'{ mode: different, orphans: keep }'") is not { } map)
            return d;
        var keys = r.Keys(map, "mirror", "mode", "orphans");
        return new MirrorSpec
        {
            Mode = r.Enum<MirrorMode>(keys.GetValueOrDefault("mode"), "mirror.mode") ?? d.Mode,
            Orphans = r.Enum<OrphanPolicy>(keys.GetValueOrDefault("orphans"), "mirror.orphans") ?? d.Orphans,
        };
    }

    private static ReplicationSpec ReadReplication(YamlReader r, YamlNode? node)
    {
        const string P = "replication";
        var d = new ReplicationSpec();
        if (r.Mapping(node, P, "'{ enabled: true, queue_limit: 1GiB }'") is not { } map)
            return d;
        var keys = r.Keys(map, P, "enabled", "queue_limit", "bandwidth", "compression", "coalesce", "max_hold", "consistency");
        return new ReplicationSpec
        {
            Enabled = r.Bool(keys.GetValueOrDefault("enabled"), "replication.enabled") ?? d.Enabled,
            QueueLimit = r.Size(keys.GetValueOrDefault("queue_limit"), "replication.queue_limit") ?? d.QueueLimit,
            Bandwidth = r.Size(keys.GetValueOrDefault("bandwidth"), "replication.bandwidth", "expected bytes per second like 10MiB, or 0 for unlimited") ?? d.Bandwidth,
            Compression = r.Enum<Compression>(keys.GetValueOrDefault("compression"), "replication.compression") ?? d.Compression,
            Coalesce = r.Duration(keys.GetValueOrDefault("coalesce"), "replication.coalesce") ?? d.Coalesce,
            MaxHold = r.Duration(keys.GetValueOrDefault("max_hold"), "replication.max_hold") ?? d.MaxHold,
            Consistency = r.Enum<Consistency>(keys.GetValueOrDefault("consistency"), "replication.consistency") ?? d.Consistency,
        };
    }

    private static VerifySpec ReadVerify(YamlReader r, YamlNode? node)
    {
        if (r.Mapping(node, "verify", "'{ schedule: 24h }'") is not { } map)
            return new VerifySpec();
        var keys = r.Keys(map, "verify", "schedule");
        var scheduleNode = keys.GetValueOrDefault("schedule");
        var text = r.String(scheduleNode, "verify.schedule");
        if (text is null || text.Equals("none", StringComparison.OrdinalIgnoreCase))
            return new VerifySpec();
        return JobValues.TryParseDuration(text, out var schedule)
            ? new VerifySpec { Schedule = schedule }
            : throw r.Error(scheduleNode!, "verify.schedule", $"expected 'none' or a duration like 24h or 30m, got '{text}'");
    }

    private static RestoreSpec ReadRestore(YamlReader r, YamlNode? node)
    {
        var d = new RestoreSpec();
        if (r.Mapping(node, "restore", "'{ mode: different, conflicts: keep-target, replaced: keep }'") is not { } map)
            return d;
        var keys = r.Keys(map, "restore", "mode", "conflicts", "replaced");
        return new RestoreSpec
        {
            Mode = r.Enum<RestoreMode>(keys.GetValueOrDefault("mode"), "restore.mode") ?? d.Mode,
            Conflicts = r.Enum<ConflictPolicy>(keys.GetValueOrDefault("conflicts"), "restore.conflicts") ?? d.Conflicts,
            Replaced = r.Enum<ReplacedPolicy>(keys.GetValueOrDefault("replaced"), "restore.replaced") ?? d.Replaced,
        };
    }

    private static int? FirstTabIndent(string text)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var indent = lines[i].AsSpan(0, lines[i].Length - lines[i].TrimStart().Length);
            if (indent.Contains('\t'))
                return i + 1;
        }
        return null;
    }

    /// <summary>Deeper than any job needs (a job file nests five levels); the bound keeps YamlDotNet, which builds
    /// its node tree recursively, from overflowing the stack on "[[[[…" (found by fuzzing the job-file parser).</summary>
    private const int MaxDepth = 64;

    /// <summary>Remembers where the last successfully parsed event ended, and refuses nesting deeper than <see cref="MaxDepth"/>.</summary>
    private sealed class MarkTrackingParser(IParser inner, string fileName) : IParser
    {
        private int _depth;

        public Mark LastGood { get; private set; } = Mark.Empty;

        public YamlDotNet.Core.Events.ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            bool more = inner.MoveNext();
            if (inner.Current is { } current)
            {
                LastGood = current.End;
                _depth += current.NestingIncrease;
                if (_depth > MaxDepth)
                    throw new JobFileException($"values nested more than {MaxDepth} levels deep", "", fileName, (int)current.Start.Line, (int)current.Start.Column);
            }
            return more;
        }
    }

    // YamlDotNet prefixes its messages with "(Line: 3, Col: 5, Idx: 20) - (Line: ...): "; we give the line ourselves.
    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\):\s*")]
    private static partial Regex YamlMarkPrefix();
}
