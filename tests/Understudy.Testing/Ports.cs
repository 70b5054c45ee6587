using System.Net;
using System.Net.Sockets;

namespace Understudy.Testing;

/// <summary>
/// Ports for agents (and proxies) that a test starts later: below the kernel's ephemeral range
/// (<c>net.ipv4.ip_local_port_range</c>, 32768–60999 by default). A port taken from the ephemeral
/// range (bind to 0, then close) could be given to an outgoing connection of a parallel test
/// (a CLI call, a peer link) before the agent bound it: "Address already in use". Ports below the
/// range are never handed out that way; each is still checked free, and a process-wide counter
/// from a random start keeps parallel test processes from walking the same sequence.
/// </summary>
public static class Ports
{
    private const int Width = 12000;
    private static readonly int s_low = EphemeralLow() - Width;
    private static int s_next = Random.Shared.Next(Width);

    public static int Free()
    {
        for (int i = 0; i < Width; i++)
        {
            int port = s_low + (int)((uint)Interlocked.Increment(ref s_next) % Width);
            try
            {
                using var l = new TcpListener(IPAddress.Loopback, port);
                l.Start();
                return port;
            }
            catch (SocketException)
            {
                // in use: try the next one
            }
        }
        throw new InvalidOperationException($"no free port in {s_low}–{s_low + Width - 1}");
    }

    private static int EphemeralLow()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            if (int.TryParse(parts[0], out int low) && low > Width + 1024)
                return low;
        }
        catch (IOException)
        {
        }
        return 32768;
    }
}
