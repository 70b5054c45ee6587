using System.Globalization;
using System.Text;

namespace Understudy.Core.Jobs;

// Canonical form: every key written, in reference order, with its value made explicit (defaults
// included), so `understudy job new` shows the admin every knob and two equal specs produce the
// same text. Parse(ToYaml(spec)) == spec for every valid spec.
internal static partial class JobFile
{
    /// <summary>Writes a spec as a canonical job file that parses back to an equal spec.</summary>
    public static string ToYaml(JobSpec spec)
    {
        var w = new YamlWriter();
        w.Line("# Understudy job file. Reference: docs/job-file.md");
        w.Scalar("name", spec.Name);
        w.Open("source");
        w.List("paths", spec.Source.Paths);
        w.List("exclude", spec.Source.Exclude);
        w.Close();
        w.Open("target");
        w.Scalar("address", spec.Target.Address.ToString());
        w.Scalar("id", spec.Target.Id);
        w.Scalar("path", spec.Target.Path);
        w.Close();
        w.Open("mirror");
        w.Raw("mode", JobEnum<MirrorMode>.Name(spec.Mirror.Mode));
        w.Raw("orphans", JobEnum<OrphanPolicy>.Name(spec.Mirror.Orphans));
        w.Close();
        var rep = spec.Replication;
        w.Open("replication");
        w.Raw("enabled", Bool(rep.Enabled));
        w.Raw("queue_limit", JobValues.FormatSize(rep.QueueLimit));
        w.Raw("bandwidth", JobValues.FormatSize(rep.Bandwidth));
        w.Raw("compression", JobEnum<Compression>.Name(rep.Compression));
        w.Raw("coalesce", JobValues.FormatDuration(rep.Coalesce));
        w.Raw("max_hold", JobValues.FormatDuration(rep.MaxHold));
        w.Raw("consistency", JobEnum<Consistency>.Name(rep.Consistency));
        w.Close();
        w.Open("verify");
        w.Raw("schedule", spec.Verify.Schedule is { } s ? JobValues.FormatDuration(s) : "none");
        w.Close();
        if (spec.Failover is { } f)
            WriteFailover(w, f);
        w.Open("restore");
        w.Raw("mode", JobEnum<RestoreMode>.Name(spec.Restore.Mode));
        w.Raw("conflicts", JobEnum<ConflictPolicy>.Name(spec.Restore.Conflicts));
        w.Raw("replaced", JobEnum<ReplacedPolicy>.Name(spec.Restore.Replaced));
        w.Close();
        return w.ToString();
    }

    private static void WriteFailover(YamlWriter w, FailoverSpec f)
    {
        w.Open("failover");
        w.Open("monitor");
        w.Items("addresses", f.Monitor.Addresses, a =>
        {
            var parts = new List<string> { $"address: {YamlWriter.Quote(a.Address)}", $"method: {JobEnum<MonitorMethod>.Name(a.Method)}" };
            if (a.Port is { } port)
                parts.Add($"port: {port.ToString(CultureInfo.InvariantCulture)}");
            foreach (var (k, v) in new[] { ("path", a.Path), ("status", a.Status), ("body", a.Body), ("share", a.Share), ("file", a.File),
                ("credentials", a.Credentials), ("run", a.Run) })
            {
                if (v is not null)
                    parts.Add($"{k}: {YamlWriter.Quote(v)}");
            }
            if (a.Weight != 1)
                parts.Add($"weight: {a.Weight.ToString(CultureInfo.InvariantCulture)}");
            return parts;
        });
        w.Raw("interval", JobValues.FormatDuration(f.Monitor.Interval));
        if (f.Monitor.Timeout is { } timeout)
            w.Raw("timeout", JobValues.FormatDuration(timeout));
        w.Raw("misses", f.Monitor.Misses.ToString(CultureInfo.InvariantCulture));
        w.Raw("policy", JobEnum<MonitorPolicy>.Name(f.Monitor.Policy));
        if (f.Monitor.Threshold is { } threshold)
            w.Raw("threshold", threshold.ToString(CultureInfo.InvariantCulture));
        w.Close();
        w.Raw("trigger", JobEnum<FailoverTrigger>.Name(f.Trigger));
        w.Raw("mode", JobEnum<FailoverMode>.Name(f.Mode));
        if (f.Witness is { } witness)
        {
            w.Open("witness");
            w.List("endpoints", witness.Endpoints);
            w.Raw("lease", JobValues.FormatDuration(witness.Lease));
            w.Raw("renew", JobValues.FormatDuration(witness.Renew));
            w.Scalar("prefix", witness.Prefix);
            w.Close();
        }
        var id = f.Identity;
        w.Open("identity");
        w.Items("addresses", id.Addresses, a =>
            [$"address: {YamlWriter.Quote(a.Address)}", $"interface: {YamlWriter.Quote(a.Interface)}", $"force: {Bool(a.Force)}"]);
        if (id.ServerName is null)
            w.Raw("server_name", "false");
        else if (id.ServerName == id.SourceName)
            w.Raw("server_name", "true");
        else
            w.Scalar("server_name", id.ServerName);
        if (id.SourceName is not null)
            w.Scalar("source_name", id.SourceName);
        w.Items("shares", id.Shares, s =>
        {
            var options = string.Join(", ", s.Options.Select(o => $"{YamlWriter.Quote(o.Name)}: {YamlWriter.Quote(o.Value)}"));
            return [$"name: {YamlWriter.Quote(s.Name)}", $"path: {YamlWriter.Quote(s.Path)}", $"options: {{ {options} }}"];
        });
        w.Items("nfs_exports", id.NfsExports, e =>
            [$"path: {YamlWriter.Quote(e.Path)}", $"clients: {YamlWriter.Quote(e.Clients)}", $"options: {YamlWriter.Quote(e.Options)}"]);
        w.Close();
        w.Open("scripts");
        WriteScripts(w, "pre_failover", f.Scripts.PreFailover);
        WriteScripts(w, "post_failover", f.Scripts.PostFailover);
        WriteScripts(w, "pre_failback", f.Scripts.PreFailback);
        WriteScripts(w, "post_failback", f.Scripts.PostFailback);
        w.Raw("abort_on_pre_failure", Bool(f.Scripts.AbortOnPreFailure));
        w.Close();
        w.Open("arp");
        w.Raw("count", f.Arp.Count.ToString(CultureInfo.InvariantCulture));
        w.Raw("interval", JobValues.FormatDuration(f.Arp.Interval));
        w.Close();
        w.Close();
    }

    private static void WriteScripts(YamlWriter w, string key, ValueList<ScriptSpec> scripts) =>
        w.Items(key, scripts, s => [$"run: {YamlWriter.Quote(s.Run)}", $"timeout: {JobValues.FormatDuration(s.Timeout)}"]);

    private static string Bool(bool value) => value ? "true" : "false";

    /// <summary>A minimal block-style YAML emitter with two-space indentation.</summary>
    private sealed class YamlWriter
    {
        private readonly StringBuilder _sb = new();
        private int _indent;

        public void Line(string text) => _sb.Append(' ', _indent * 2).Append(text).Append('\n');

        public void Open(string key)
        {
            Line(key + ":");
            _indent++;
        }

        public void Close() => _indent--;

        /// <summary>A value already in its YAML form (enum word, number, size, duration).</summary>
        public void Raw(string key, string value) => Line($"{key}: {value}");

        public void Scalar(string key, string value) => Line($"{key}: {Quote(value)}");

        public void List(string key, IReadOnlyList<string> items)
        {
            if (items.Count == 0)
            {
                Line($"{key}: []");
                return;
            }
            Open(key);
            foreach (var item in items)
                Line("- " + Quote(item));
            Close();
        }

        /// <summary>A list of small mappings, one flow mapping per line.</summary>
        public void Items<T>(string key, IReadOnlyList<T> items, Func<T, IEnumerable<string>> fields)
        {
            if (items.Count == 0)
            {
                Line($"{key}: []");
                return;
            }
            Open(key);
            foreach (var item in items)
                Line($"- {{ {string.Join(", ", fields(item))} }}");
            Close();
        }

        /// <summary>
        /// Plain when the text cannot be read as anything else (no YAML indicators, not a
        /// bool/null/number word); double-quoted with escapes otherwise.
        /// </summary>
        public static string Quote(string text)
        {
            if (IsSafePlain(text))
                return text;
            var sb = new StringBuilder(text.Length + 2).Append('"');
            foreach (char c in text)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\r': sb.Append("\\r"); break;
                    default:
                        if (char.IsControl(c))
                            sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                        else
                            sb.Append(c);
                        break;
                }
            }
            return sb.Append('"').ToString();
        }

        private static bool IsSafePlain(string text)
        {
            if (text.Length == 0 || YamlReader.TryBool(text) is not null || text is "~" or "null" or "Null" or "NULL")
                return false;
            if (!char.IsAsciiLetterOrDigit(text[0]) && text[0] != '/' && text[0] != '_' && text[0] != '.')
                return false;
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                return false;
            foreach (char c in text)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c is not ('/' or '.' or '_' or '-' or ':' or '@' or '+'))
                    return false;
            }
            return !text.EndsWith(':');
        }

        public override string ToString() => _sb.ToString();
    }
}
