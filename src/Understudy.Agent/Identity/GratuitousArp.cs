using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Understudy.Agent.Events;

namespace Understudy.Agent.Identity;

/// <summary>
/// Sends gratuitous ARP itself over an AF_PACKET socket (needs CAP_NET_RAW): Debian ships two
/// conflicting `arping`s with different flags, and iputils' cannot space packets below one second.
/// An ARP request for our own address (sender = target = the address), broadcast, as keepalived sends:
/// neighbours that already know the address update their entry at once (RFC 5227 §3, "ARP Announcement").
/// </summary>
internal static partial class GratuitousArp
{
    private const int AF_PACKET = 17;
    private const int SOCK_DGRAM = 2;
    private const int SOCK_CLOEXEC = 0x80000;
    private const ushort ETH_P_ARP = 0x0806;

    /// <summary>The 28-byte ARP payload (the kernel adds the Ethernet header for a SOCK_DGRAM packet socket).</summary>
    public static byte[] BuildAnnouncement(PhysicalAddress mac, IPAddress address)
    {
        var hw = mac.GetAddressBytes();
        if (hw.Length != 6)
            throw new ArgumentException($"expected a 6-byte Ethernet address, got {hw.Length} bytes", nameof(mac));
        if (address.AddressFamily != AddressFamily.InterNetwork)
            throw new ArgumentException("gratuitous ARP is IPv4 only", nameof(address));
        var ip = address.GetAddressBytes();
        var p = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(p, 1);            // hardware type: Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), 0x0800); // protocol type: IPv4
        p[4] = 6;
        p[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), 1);  // request
        hw.CopyTo(p, 8);
        ip.CopyTo(p, 14);
        // target hardware address stays zero (RFC 5227: ignored in an announcement)
        ip.CopyTo(p, 24);
        return p;
    }

    /// <summary>Sends <paramref name="count"/> announcements of <paramref name="address"/> on <paramref name="device"/>, spaced by <paramref name="interval"/>.</summary>
    /// <exception cref="IOException">The interface is unknown, has no Ethernet address, or the socket cannot be used.</exception>
    public static async Task SendAsync(string device, IPAddress address, int count, TimeSpan interval, TimeProvider time, CancellationToken ct)
    {
        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == device)
            ?? throw new IOException($"no network interface named {device}");
        var packet = BuildAnnouncement(nic.GetPhysicalAddress(), address);
        int index = (int)if_nametoindex(device);
        if (index == 0)
            throw new IOException($"no network interface named {device}");
        int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, BinaryPrimitives.ReverseEndianness(ETH_P_ARP));
        if (fd < 0)
            throw new IOException($"cannot open a packet socket (needs CAP_NET_RAW): errno {Marshal.GetLastPInvokeError()}");
        try
        {
            var sll = new byte[20];
            BinaryPrimitives.WriteUInt16LittleEndian(sll, AF_PACKET);
            BinaryPrimitives.WriteUInt16BigEndian(sll.AsSpan(2), ETH_P_ARP);
            BinaryPrimitives.WriteInt32LittleEndian(sll.AsSpan(4), index);
            sll[11] = 6; // halen
            for (int i = 12; i < 18; i++)
                sll[i] = 0xff; // broadcast
            for (int i = 0; i < count; i++)
            {
                if (i > 0)
                    await Task.Delay(interval, time, ct);
                if (sendto(fd, packet, packet.Length, 0, sll, sll.Length) < 0)
                    throw new IOException($"cannot send gratuitous ARP on {device}: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendto(int fd, byte[] buf, nint len, int flags, byte[] addr, int addrlen);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string name);
}

/// <summary>Announces one taken-over IPv4 address (count and spacing from <c>failover.arp</c>). Nothing to revert: the source announces its own on fail-back.</summary>
internal sealed class GarpStep(InterfaceAddress address, int count, TimeSpan interval, TimeProvider time) : IFailoverStep
{
    public string Name => $"gratuitous ARP for {address.Address} on {address.Interface}";

    public InterfaceAddress Address => address;

    public IReadOnlyList<string> Describe() =>
        [$"send {count} gratuitous ARP announcements of {address.Address} on {address.Interface}, {interval.TotalMilliseconds:0} ms apart (AF_PACKET)"];

    public async Task ApplyAsync(StepContext ctx, CancellationToken ct)
    {
        if (count == 0)
            return;
        var ip = IPAddress.Parse(address.Address);
        try
        {
            await GratuitousArp.SendAsync(address.Interface, ip, 1, interval, time, ct);
        }
        catch (IOException e)
        {
            // Clients still find the address, only later (their ARP entries time out): worth a warning, not an abort.
            throw new StepFailedException(e.Message, abort: false);
        }
        if (count == 1)
        {
            ctx.Info(EventCode.ArpAnnounced, $"sent a gratuitous ARP announcement of {address.Address} on {address.Interface}");
            return;
        }
        // The first announcement moves most caches at once; the repeats only cover a lost frame, so the
        // take-over does not wait (count - 1) x interval for them (measured: 0.8 s of a 1.8 s take-over).
        ctx.Info(EventCode.ArpAnnounced, $"sent a gratuitous ARP announcement of {address.Address} on {address.Interface}; {count - 1} more follow {interval.TotalMilliseconds:0} ms apart");
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(interval, time, CancellationToken.None);
                await GratuitousArp.SendAsync(address.Interface, ip, count - 1, interval, time, CancellationToken.None);
            }
            catch (IOException)
            {
                // The address may be gone again (a fail-back right after); a repeat is best effort.
            }
        }, CancellationToken.None);
    }

    public Task RevertAsync(StepContext ctx, CancellationToken ct) => Task.CompletedTask;
}
