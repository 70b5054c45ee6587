using System.Net.Sockets;
using System.Text;

namespace Understudy.Agent.Hosting;

/// <summary>
/// sd_notify(3) without libsystemd: datagrams to the socket named by NOTIFY_SOCKET (a path, or
/// '@' for the abstract namespace). Done here rather than through UseSystemd()'s lifetime because
/// that only switches on when the parent process is systemd, and a Type=notify unit must see
/// READY=1 however the agent was started (containers, a supervisor, the tests' fake socket).
/// Sending is best effort: a missing or full socket must never stop the agent.
/// </summary>
internal sealed class SdNotify : IDisposable
{
    public const string SocketVariable = "NOTIFY_SOCKET";

    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endPoint;

    private SdNotify(UnixDomainSocketEndPoint endPoint)
    {
        _endPoint = endPoint;
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    /// <summary>The notifier for this process, or null when no service manager asked for one.</summary>
    public static SdNotify? FromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(SocketVariable);
        var notify = Create(value);
        // As sd_notify's unset_environment: processes the agent starts must not speak for it.
        if (notify is not null)
            Environment.SetEnvironmentVariable(SocketVariable, null);
        return notify;
    }

    /// <summary>Null for an empty value or a kind of socket this agent does not speak (vsock).</summary>
    public static SdNotify? Create(string? socketPath)
    {
        if (string.IsNullOrEmpty(socketPath))
            return null;
        if (socketPath[0] == '@')
            socketPath = "\0" + socketPath[1..];
        else if (socketPath[0] != '/')
            return null;
        return new SdNotify(new UnixDomainSocketEndPoint(socketPath));
    }

    /// <summary>Sends newline-separated assignments such as "READY=1\nSTATUS=...". False when it could not.</summary>
    public bool Send(string state)
    {
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), SocketFlags.None, _endPoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();
}
