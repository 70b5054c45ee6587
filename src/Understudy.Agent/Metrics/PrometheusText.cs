using System.Globalization;
using System.Text;

namespace Understudy.Agent.Metrics;

/// <summary>
/// Writes the Prometheus text exposition format, version 0.0.4 (the format every Prometheus server scrapes and
/// <c>promtool check metrics</c> checks): per family one <c># HELP</c> and one <c># TYPE</c> line, then its samples.
/// Written by hand rather than with prometheus-net or OpenTelemetry's exporter: every value is read from the agent's
/// status views at scrape time (nothing is counted on a hot path), so a registry of instruments would only copy them,
/// and this is the whole format in one small file with no dependency (docs/monitoring.md).
/// </summary>
internal sealed class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _sb = new();
    private readonly HashSet<string> _families = new(StringComparer.Ordinal);
    private string? _current;

    /// <summary>Starts a family. Its samples must follow before another family starts: the format wants each family's
    /// lines together, so a family named twice throws rather than write a file a scraper rejects.</summary>
    public PrometheusText Family(string name, string type, string help)
    {
        if (!_families.Add(name))
            throw new InvalidOperationException($"metric family {name} written twice");
        _current = name;
        _sb.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n');
        _sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        return this;
    }

    public PrometheusText Gauge(string name, string help) => Family(name, "gauge", help);

    /// <summary>A counter: in this format (unlike OpenMetrics) the family's name is the sample's, <c>_total</c> included.</summary>
    public PrometheusText Counter(string name, string help) =>
        name.EndsWith("_total", StringComparison.Ordinal) ? Family(name, "counter", help) : throw new ArgumentException($"counter {name} without _total");

    public PrometheusText Sample(bool value, params (string Name, string Value)[] labels) => Sample(value ? 1 : 0, labels);

    /// <summary>One sample of the current family; <paramref name="labels"/> as name/value pairs.</summary>
    public PrometheusText Sample(double value, params (string Name, string Value)[] labels)
    {
        if (_current is null)
            throw new InvalidOperationException("a sample before any family");
        _sb.Append(_current);
        if (labels.Length > 0)
        {
            _sb.Append('{');
            for (int i = 0; i < labels.Length; i++)
            {
                if (i > 0)
                    _sb.Append(',');
                _sb.Append(labels[i].Name).Append("=\"").Append(EscapeLabel(labels[i].Value)).Append('"');
            }
            _sb.Append('}');
        }
        _sb.Append(' ').Append(Format(value)).Append('\n');
        return this;
    }

    /// <summary>One sample of the current family per item, labelled by <paramref name="labels"/>: the shape of most
    /// families. An item whose <paramref name="value"/> is null has none (unknown, or it does not apply).</summary>
    public PrometheusText Each<T>(IEnumerable<T> items, Func<T, double?> value, Func<T, (string Name, string Value)[]> labels)
    {
        foreach (var item in items)
        {
            if (value(item) is { } v)
                Sample(v, labels(item));
        }
        return this;
    }

    /// <summary>The same for a flag: 1 or 0.</summary>
    public PrometheusText Each<T>(IEnumerable<T> items, Func<T, bool> value, Func<T, (string Name, string Value)[]> labels) =>
        Each(items, i => value(i) ? 1 : 0, labels);

    public override string ToString() => _sb.ToString();

    private static string Format(double v) =>
        double.IsNaN(v) ? "NaN" : double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Label values escape backslash, double quote and line feed (the format's only three).</summary>
    internal static string EscapeLabel(string s) =>
        s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>HELP text escapes backslash and line feed only.</summary>
    private static string EscapeHelp(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
