using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Understudy.Testing.Lab;

/// <summary>
/// Names everything one lab creates from its private subnet 10.X.Y.0/24: namespaces `ul-X-Y-ROLE`,
/// temp dir `/tmp/ul-X-Y-PID`, and the root-namespace guard route `unreachable 10.X.Y.0/24 metric PID`.
/// The route's metric records the owning PID, so a later run can tell a dead lab from a live one.
/// </summary>
public readonly partial record struct LabId(int X, int Y)
{
    public const string Prefix = "ul-";

    public string Stem => $"{Prefix}{X}-{Y}";

    public string Subnet => $"10.{X}.{Y}.0/24";

    public string Namespace(string role) => $"{Stem}-{role}";

    public IPAddress Address(int host) => new([10, (byte)X, (byte)Y, (byte)host]);

    public string TempDir(int ownerPid) => Path.Combine(Path.GetTempPath(), $"{Stem}-{ownerPid}");

    public static bool TryParseNamespace(string name, out LabId id)
    {
        var m = NamespaceName().Match(name);
        id = m.Success ? new LabId(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)) : default;
        return m.Success;
    }

    /// <summary>Parses `unreachable 10.X.Y.0/24 ... metric PID` as `ip route show type unreachable` prints it.</summary>
    public static bool TryParseGuardRoute(string line, out LabId id, out int ownerPid)
    {
        var m = GuardRoute().Match(line);
        id = default;
        ownerPid = 0;
        if (!m.Success)
            return false;
        id = new LabId(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        ownerPid = int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        return true;
    }

    public static bool TryParseTempDir(string name, out LabId id, out int ownerPid)
    {
        var m = TempDirName().Match(name);
        id = default;
        ownerPid = 0;
        if (!m.Success)
            return false;
        id = new LabId(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        ownerPid = int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        return true;
    }

    [GeneratedRegex(@"^ul-(\d{1,3})-(\d{1,3})-[a-z]+$")]
    private static partial Regex NamespaceName();

    [GeneratedRegex(@"^unreachable 10\.(\d{1,3})\.(\d{1,3})\.0/24 .*\bmetric (\d+)")]
    private static partial Regex GuardRoute();

    [GeneratedRegex(@"^ul-(\d{1,3})-(\d{1,3})-(\d+)$")]
    private static partial Regex TempDirName();
}
