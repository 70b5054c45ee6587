using System.Text;
using System.Text.Json;

namespace Understudy.Cli.Commands;

/// <summary>The answers of `job new`, written as a minimal job file for JobFile.Parse to check and expand.</summary>
internal sealed record JobDraft
{
    public string Name { get; init; } = "";

    public string[] Sources { get; init; } = [];

    public string[] Excludes { get; init; } = [];

    public string TargetAddress { get; init; } = "";

    public string TargetId { get; init; } = "";

    public string TargetPath { get; init; } = "";

    public string Mode { get; init; } = "different";

    public string Orphans { get; init; } = "keep";

    public string[] Monitor { get; init; } = [];

    public string Trigger { get; init; } = "manual";

    public string FailoverMode { get; init; } = "add";

    public static bool NameOk(string v) =>
        v.Length is > 0 and <= 63 && char.IsAsciiLetterLower(v[0]) | char.IsAsciiDigit(v[0])
        && v.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-');

    public static bool IdOk(string v)
    {
        var s = v.Replace(":", "", StringComparison.Ordinal);
        return s.Length == 64 && s.All(char.IsAsciiHexDigit);
    }

    // YAML double-quoted scalars use JSON's escapes, so JSON string quoting is a safe YAML quoting.
    private static string Q(string s) => JsonSerializer.Serialize(s);

    private static string L(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(Q)) + "]";

    public string ToYaml()
    {
        var b = new StringBuilder();
        b.Append("name: ").AppendLine(Q(Name));
        b.AppendLine("source:").Append("  paths: ").AppendLine(L(Sources));
        if (Excludes.Length > 0)
            b.Append("  exclude: ").AppendLine(L(Excludes));
        b.AppendLine("target:").Append("  address: ").AppendLine(Q(TargetAddress)).Append("  id: ").AppendLine(Q(TargetId))
            .Append("  path: ").AppendLine(Q(TargetPath));
        b.AppendLine("mirror:").Append("  mode: ").AppendLine(Mode).Append("  orphans: ").AppendLine(Orphans);
        if (Monitor.Length > 0)
        {
            b.AppendLine("failover:").AppendLine("  monitor:").Append("    addresses: ").AppendLine(L(Monitor))
                .Append("  trigger: ").AppendLine(Trigger).Append("  mode: ").AppendLine(FailoverMode);
        }
        return b.ToString();
    }
}
