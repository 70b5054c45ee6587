using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Runtime.InteropServices;

namespace Understudy.Agent.Identity;

/// <summary>Duplicate address detection for one IPv4 address on one interface: true = someone else holds it.</summary>
internal interface IDuplicateAddressProbe
{
    /// <exception cref="IOException">The probe could not be sent (unknown interface, no CAP_NET_RAW).</exception>
    Task<bool> InUseAsync(string device, IPAddress address, CancellationToken ct);
}

/// <summary>
/// RFC 5227 ARP probes (sender address 0.0.0.0, so no neighbour learns anything from them) over an
/// AF_PACKET socket bound to the interface, then listening for any ARP packet whose sender address is
/// the probed one from another MAC. Done in-process rather than with `arping -D` so a take-over does not
/// wait a whole second per address (iputils' smallest wait) nor depend on which arping is installed.
/// </summary>
internal sealed partial class ArpProbe(int probes = 2, int waitMilliseconds = 400) : IDuplicateAddressProbe
{
    private const int AF_PACKET = 17;
    private const int SOCK_DGRAM = 2;
    private const int SOCK_CLOEXEC = 0x80000;
    private const ushort ETH_P_ARP = 0x0806;
    private const short POLLIN = 1;

    public string Describe(string device, IPAddress address) =>
        $"ARP probe for {address} on {device} (RFC 5227: {probes} probes, {waitMilliseconds} ms for an answer)";

    public static byte[] BuildProbe(PhysicalAddress mac, IPAddress address)
    {
        var p = GratuitousArp.BuildAnnouncement(mac, address);
        p.AsSpan(14, 4).Clear(); // sender protocol address 0.0.0.0: a probe, not an announcement
        return p;
    }

    /// <summary>True when <paramref name="packet"/> (an ARP payload) shows <paramref name="address"/> held by a MAC other than <paramref name="ours"/>.</summary>
    public static bool ShowsConflict(ReadOnlySpan<byte> packet, ReadOnlySpan<byte> ours, ReadOnlySpan<byte> address) =>
        packet.Length >= 28
        && BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) == 0x0800
        && packet[4] == 6 && packet[5] == 4
        && packet.Slice(14, 4).SequenceEqual(address)
        && !packet.Slice(8, 6).SequenceEqual(ours);

    public Task<bool> InUseAsync(string device, IPAddress address, CancellationToken ct)
    {
        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == device)
            ?? throw new IOException($"no network interface named {device}");
        var mac = nic.GetPhysicalAddress().GetAddressBytes();
        int index = (int)if_nametoindex(device);
        // Created here, on the caller's thread, so it lives in the caller's network namespace.
        int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, BinaryPrimitives.ReverseEndianness(ETH_P_ARP));
        if (fd < 0 || index == 0)
            throw new IOException($"cannot open a packet socket on {device} (needs CAP_NET_RAW): errno {Marshal.GetLastPInvokeError()}");
        var sll = new byte[20];
        BinaryPrimitives.WriteUInt16LittleEndian(sll, AF_PACKET);
        BinaryPrimitives.WriteUInt16BigEndian(sll.AsSpan(2), ETH_P_ARP);
        BinaryPrimitives.WriteInt32LittleEndian(sll.AsSpan(4), index);
        if (bind(fd, sll, sll.Length) != 0)
        {
            _ = close(fd);
            throw new IOException($"cannot bind a packet socket to {device}: errno {Marshal.GetLastPInvokeError()}");
        }
        var probe = BuildProbe(new PhysicalAddress(mac), address);
        var target = address.GetAddressBytes();
        // The wait is a blocking poll loop: run it off the caller's thread, and own it (awaited by the caller).
        return Task.Run(() =>
        {
            try
            {
                sll[11] = 6;
                sll.AsSpan(12, 6).Fill(0xff);
                var buf = new byte[128];
                var pfd = new PollFd[1];
                for (int i = 0; i < probes; i++)
                {
                    if (sendto(fd, probe, probe.Length, 0, sll, sll.Length) < 0)
                        throw new IOException($"cannot send an ARP probe on {device}: errno {Marshal.GetLastPInvokeError()}");
                    long deadline = Environment.TickCount64 + waitMilliseconds / probes;
                    while (Environment.TickCount64 < deadline)
                    {
                        ct.ThrowIfCancellationRequested();
                        pfd[0] = new PollFd { Fd = fd, Events = POLLIN };
                        int left = (int)Math.Max(0, Math.Min(50, deadline - Environment.TickCount64));
                        if (poll(pfd, 1, left) <= 0)
                            continue;
                        nint n = recv(fd, buf, buf.Length, 0);
                        if (n > 0 && ShowsConflict(buf.AsSpan(0, (int)n), mac, target))
                            return true;
                    }
                }
                return false;
            }
            finally
            {
                _ = close(fd);
            }
        }, CancellationToken.None);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, byte[] addr, int addrlen);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendto(int fd, byte[] buf, nint len, int flags, byte[] addr, int addrlen);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(int fd, byte[] buf, nint len, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll([In, Out] PollFd[] fds, nuint nfds, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string name);
}
