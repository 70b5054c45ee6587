using System.Globalization;

namespace Understudy.Testing.Lab;

/// <summary>Whether a namespace has a TCP listener on a port, from /proc/PID/net/tcp{,6} (no spawn).</summary>
public static class Listening
{
    private const string ListenState = "0A";

    public static bool OnPort(int pidInNamespace, int port)
    {
        foreach (var table in new[] { "tcp", "tcp6" })
        {
            string text;
            try
            {
                text = File.ReadAllText($"/proc/{pidInNamespace}/net/{table}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false; // the process is gone: nothing of its listens
            }
            foreach (var line in text.Split('\n').Skip(1))
            {
                var cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (cols.Length < 4 || cols[3] != ListenState)
                    continue;
                var local = cols[1];
                var colon = local.LastIndexOf(':');
                if (colon > 0 && int.Parse(local.AsSpan(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port)
                    return true;
            }
        }
        return false;
    }
}
