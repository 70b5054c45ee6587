using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Understudy.Core.Jobs;

/// <summary>
/// Typed access to a YAML representation tree for <see cref="JobFile"/>: every read knows its key
/// path and its node's line, so every error can say where it is. Also remembers where each key
/// was, so errors found later by <see cref="JobSpec.Validate"/> can be placed in the file.
/// </summary>
internal sealed class YamlReader(string fileName)
{
    private readonly Dictionary<string, Mark> _locations = new(StringComparer.Ordinal);

    public string FileName { get; } = fileName;

    /// <summary>Where a key path (or its nearest recorded ancestor) is in the file.</summary>
    public Mark LocationOf(string keyPath)
    {
        var path = keyPath;
        while (true)
        {
            if (_locations.TryGetValue(path, out var mark))
                return mark;
            int cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
            if (cut <= 0)
                return _locations.TryGetValue("", out var root) ? root : Mark.Empty;
            path = path[..cut];
        }
    }

    public JobFileException Error(YamlNode node, string keyPath, string reason) =>
        new(reason, keyPath, FileName, (int)node.Start.Line, (int)node.Start.Column);

    public void Remember(string keyPath, YamlNode node) => _locations[keyPath] = node.Start;

    /// <summary>Null, '~' or nothing at all (plain style): the key is as good as absent.</summary>
    public static bool IsNull(YamlNode? node) =>
        node is null || (node is YamlScalarNode s && s.Style is ScalarStyle.Plain or ScalarStyle.Any
            && (s.Value is null || s.Value.Length == 0 || s.Value == "~" || s.Value.Equals("null", StringComparison.OrdinalIgnoreCase)));

    /// <summary>
    /// Checks that every key of <paramref name="map"/> is a known, unique, scalar key and returns
    /// the values by key. Unknown keys are errors with a "did you mean" suggestion.
    /// </summary>
    public Dictionary<string, YamlNode> Keys(YamlMappingNode map, string path, params string[] known)
    {
        var values = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in map.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
                throw Error(keyNode, path, "expected a plain key name here, got a list or mapping as a key");
            var keyPath = Join(path, key);
            if (!known.Contains(key, StringComparer.Ordinal))
                throw Error(keyNode, keyPath, UnknownKey(key, path, known));
            if (!values.TryAdd(key, value))
                throw Error(keyNode, keyPath, $"duplicate key '{key}': each key may appear only once");
            Remember(keyPath, value);
        }
        return values;
    }

    private static string UnknownKey(string key, string path, string[] known)
    {
        var where = path.Length == 0 ? "at the top level" : $"in '{path}'";
        var best = KeySuggestions.Closest(key, known);
        return best is null
            ? $"unknown key '{key}' {where}; known keys: {string.Join(", ", known)}"
            : $"unknown key '{key}' {where}; did you mean '{best}'?";
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    public YamlMappingNode? Mapping(YamlNode? node, string path, string example)
    {
        if (IsNull(node))
            return null;
        return node as YamlMappingNode ?? throw Error(node!, path, $"expected a section of keys, like {example}; got {Describe(node!)}");
    }

    public List<YamlNode> Sequence(YamlNode? node, string path, string example)
    {
        if (IsNull(node))
            return [];
        if (node is not YamlSequenceNode seq)
            throw Error(node!, path, $"expected a list, like {example}; got {Describe(node!)}");
        for (int i = 0; i < seq.Children.Count; i++)
            Remember($"{path}[{i}]", seq.Children[i]);
        return [.. seq.Children];
    }

    public string? String(YamlNode? node, string path)
    {
        if (IsNull(node))
            return null;
        if (node is not YamlScalarNode s)
            throw Error(node!, path, $"expected a text value, got {Describe(node!)}");
        return s.Value ?? "";
    }

    public string RequiredString(Dictionary<string, YamlNode> keys, YamlNode parent, string path, string key, string hint)
    {
        var keyPath = Join(path, key);
        keys.TryGetValue(key, out var node);
        return String(node, keyPath) ?? throw Error(node ?? parent, keyPath, $"required: {hint}");
    }

    public bool? Bool(YamlNode? node, string path)
    {
        var text = String(node, path);
        if (text is null)
            return null;
        return TryBool(text) ?? throw Error(node!, path, $"expected true or false, got '{text}'");
    }

    public static bool? TryBool(string text) => text.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" => true,
        "false" or "no" or "off" => false,
        _ => null,
    };

    public int? Int(YamlNode? node, string path)
    {
        var text = String(node, path);
        if (text is null)
            return null;
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v)
            ? v
            : throw Error(node!, path, $"expected a whole number, got '{text}'");
    }

    public T? Enum<T>(YamlNode? node, string path)
        where T : struct, System.Enum
    {
        var text = String(node, path);
        if (text is null)
            return null;
        if (JobEnum<T>.TryParse(text, out var v))
            return v;
        var guess = KeySuggestions.Closest(text, JobEnum<T>.Names);
        throw Error(node!, path, $"expected one of {JobEnum<T>.Choices}, got '{text}'" + (guess is null ? "" : $"; did you mean '{guess}'?"));
    }

    public TimeSpan? Duration(YamlNode? node, string path)
    {
        var text = String(node, path);
        if (text is null)
            return null;
        return JobValues.TryParseDuration(text, out var v) ? v : throw Error(node!, path, $"{JobValues.DurationHint}, got '{text}'");
    }

    public long? Size(YamlNode? node, string path, string hint = JobValues.SizeHint)
    {
        var text = String(node, path);
        if (text is null)
            return null;
        return JobValues.TryParseSize(text, out var v) ? v : throw Error(node!, path, $"{hint}, got '{text}'");
    }

    public string? AbsolutePath(YamlNode? node, string path)
    {
        var text = String(node, path);
        if (text is null)
            return null;
        return JobValues.TryNormalizeAbsolutePath(text, out var p, out var error) ? p : throw Error(node!, path, error);
    }

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a section of keys",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "something else",
    };
}
