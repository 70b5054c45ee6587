using System.Net.NetworkInformation;
using System.Net.Sockets;
using Understudy.Agent.Identity;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Failover;

/// <summary>One probe of one watched address; true = it answered in time. Never throws for an unreachable peer.</summary>
internal interface IAddressProber
{
    Task<bool> ProbeAsync(MonitorAddress address, TimeSpan timeout, CancellationToken ct);
}

/// <summary>
/// ICMP echo (System.Net.NetworkInformation.Ping; a raw socket as root), a TCP connect to the
/// port (the agent's peer port 7420 by default), or a probe of a service (<see cref="ServiceProbes"/>:
/// HTTP(S), SMB, NFS, an operator's script from <paramref name="scriptsDir"/>). A refused connection is a miss: TCP
/// watches the service, and the source agent not listening means it is not protecting anything.
/// </summary>
internal sealed class NetworkProber(ICommandRunner? commands = null, string scriptsDir = PlanPolicy.DefaultScriptsDir) : IAddressProber
{
    private readonly ICommandRunner _commands = commands ?? ProcessCommandRunner.Instance;

    public async Task<bool> ProbeAsync(MonitorAddress address, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            if (address.Method == MonitorMethod.Icmp)
            {
                using var ping = new Ping();
                var reply = await ping.SendPingAsync(address.Address, timeout, cancellationToken: ct);
                return reply.Status == IPStatus.Success;
            }
            if (address.Method == MonitorMethod.Smb)
                return await ServiceProbes.SmbAsync(_commands, address, timeout, ct); // smbclient is ended at the timeout
            if (address.Method == MonitorMethod.Script)
                return await ServiceProbes.ScriptAsync(_commands, scriptsDir, address, timeout, ct); // its process group is ended at the timeout
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout);
            switch (address.Method)
            {
                case MonitorMethod.Http or MonitorMethod.Https:
                    return await ServiceProbes.HttpAsync(address, cts.Token);
                case MonitorMethod.Nfs:
                    return await ServiceProbes.NfsAsync(address, cts.Token);
            }
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(address.Address, address.Port ?? JobSpec.DefaultPeerPort, cts.Token);
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e) when (e is SocketException or PingException or IOException or HttpRequestException or EndOfStreamException)
        {
            return false;
        }
    }
}

/// <summary>What the monitor knows of one watched address.</summary>
internal sealed class AddressWatch(MonitorAddress address)
{
    public MonitorAddress Address { get; } = address;

    /// <summary>Null until the first probe.</summary>
    public bool? Up { get; private set; }

    public int Misses { get; private set; }

    public DateTimeOffset? LastReply { get; private set; }

    public DateTimeOffset? LastProbe { get; private set; }

    /// <summary>Records a probe; returns the change worth an event, if any.</summary>
    public string? Record(bool answered, DateTimeOffset at, int threshold)
    {
        LastProbe = at;
        var label = Label;
        if (answered)
        {
            bool wasDown = Up == false;
            int had = Misses;
            Up = true;
            Misses = 0;
            LastReply = at;
            return wasDown || had > 0 ? $"{label} answers again (after {had} missed probes)" : null;
        }
        Misses++;
        Up = false;
        if (Misses == 1)
            return $"{label} did not answer";
        return Misses == threshold ? $"{label} lost: {Misses} consecutive probes missed" : null;
    }

    public string Label => Address.Label;
}
