using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Understudy.Core.Jobs;

/// <summary>Parsing and canonical formatting of the job file's scalar kinds (sizes, durations, IDs, paths).</summary>
internal static class JobValues
{
    private static readonly (string Unit, long Factor)[] s_sizeUnits =
    [
        ("TiB", 1L << 40), ("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("B", 1),
    ];

    private static readonly (string Unit, long Ticks)[] s_durationUnits =
    [
        ("h", TimeSpan.TicksPerHour), ("ms", TimeSpan.TicksPerMillisecond), ("m", TimeSpan.TicksPerMinute), ("s", TimeSpan.TicksPerSecond),
    ];

    public const string SizeHint = "expected a size like 1GiB, 512MiB or a number of bytes";

    public const string DurationHint = "expected a duration like 1s or 500ms";

    /// <summary>Plain bytes or an integer with a unit: B, KiB, MiB, GiB, TiB (binary), KB, MB, GB, TB (decimal).</summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        text = text.Trim();
        int i = 0;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
            i++;
        if (i == 0 || !long.TryParse(text.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
            return false;
        var unit = text.AsSpan(i).Trim();
        if (unit.IsEmpty)
        {
            bytes = n;
            return true;
        }
        foreach (var (u, factor) in s_sizeUnits)
        {
            if (unit.Equals(u, StringComparison.OrdinalIgnoreCase))
            {
                if (n > long.MaxValue / factor)
                    return false;
                bytes = n * factor;
                return true;
            }
        }
        return false;
    }

    /// <summary>The largest binary unit that divides exactly: 1073741824 → "1GiB", 1000 → "1000".</summary>
    public static string FormatSize(long bytes)
    {
        if (bytes == 0)
            return "0";
        foreach (var (u, factor) in s_sizeUnits)
        {
            if (u.Contains('i', StringComparison.Ordinal) && bytes % factor == 0)
                return (bytes / factor).ToString(CultureInfo.InvariantCulture) + u;
        }
        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Integers with units h, m, s, ms, optionally combined ("1m30s"); a bare "0" is zero.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        if (text == "0")
            return true;
        long ticks = 0;
        int i = 0;
        if (text.Length == 0)
            return false;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
                i++;
            if (i == start || !long.TryParse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
                return false;
            bool matched = false;
            foreach (var (u, unitTicks) in s_durationUnits)
            {
                if (string.CompareOrdinal(text, i, u, 0, u.Length) == 0 && (u != "m" || i + 1 >= text.Length || text[i + 1] != 's'))
                {
                    if (n > (TimeSpan.MaxValue.Ticks - ticks) / unitTicks)
                        return false;
                    ticks += n * unitTicks;
                    i += u.Length;
                    matched = true;
                    break;
                }
            }
            if (!matched)
                return false;
        }
        value = new TimeSpan(ticks);
        return true;
    }

    /// <summary>Canonical form: 90s → "1m30s", 1.5s → "1s500ms", zero → "0". Sub-millisecond parts are dropped.</summary>
    public static string FormatDuration(TimeSpan value)
    {
        long ms = (long)value.TotalMilliseconds;
        if (ms <= 0)
            return "0";
        var sb = new StringBuilder();
        Append(ref ms, 3_600_000, "h");
        Append(ref ms, 60_000, "m");
        Append(ref ms, 1_000, "s");
        Append(ref ms, 1, "ms");
        return sb.ToString();

        void Append(ref long rest, long unit, string suffix)
        {
            if (rest >= unit)
            {
                sb.Append((rest / unit).ToString(CultureInfo.InvariantCulture)).Append(suffix);
                rest %= unit;
            }
        }
    }

    /// <summary>
    /// An agent ID is the SHA-256 fingerprint of its certificate: 64 hex digits. Accepts any case and
    /// ':' separators (as fingerprints are often printed); returns the canonical lowercase form.
    /// </summary>
    public static bool TryNormalizeAgentId(string text, out string id)
    {
        var s = text.Trim().Replace(":", "", StringComparison.Ordinal).ToLowerInvariant();
        id = s;
        return s.Length == 64 && s.All(char.IsAsciiHexDigitLower);
    }

    /// <summary>
    /// Normalizes an absolute path: collapses '//' and '.', drops a trailing '/'. A ".." component is
    /// refused rather than resolved, because what it means depends on symlinks on the machine.
    /// </summary>
    public static bool TryNormalizeAbsolutePath(string text, out string path, out string error)
    {
        path = text;
        error = "";
        if (text.Length == 0 || text[0] != '/')
        {
            error = $"expected an absolute path starting with '/', got '{text}'";
            return false;
        }
        if (text.Contains('\0', StringComparison.Ordinal))
        {
            error = "a path cannot contain a NUL character";
            return false;
        }
        var parts = new List<string>();
        foreach (var part in text.Split('/'))
        {
            if (part.Length == 0 || part == ".")
                continue;
            if (part == "..")
            {
                error = $"'..' is not allowed in a path, got '{text}'";
                return false;
            }
            parts.Add(part);
        }
        path = "/" + string.Join('/', parts);
        return true;
    }

    /// <summary>True when <paramref name="path"/> equals <paramref name="root"/> or lies below it (normalized paths).</summary>
    public static bool IsUnder(string path, string root) =>
        root == "/" || path == root || (path.StartsWith(root, StringComparison.Ordinal) && path[root.Length] == '/');
}

/// <summary>Durations travel in JSON in the job file's own form ("1s", "1m30s").</summary>
internal sealed class DurationJsonConverter : JsonConverter<TimeSpan>
{
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString() ?? "";
        return JobValues.TryParseDuration(text, out var v) ? v : throw new JsonException($"{JobValues.DurationHint}, got '{text}'");
    }

    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
        writer.WriteStringValue(JobValues.FormatDuration(value));
}
