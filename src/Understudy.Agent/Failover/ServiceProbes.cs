using System.Buffers.Binary;
using System.Net.Sockets;
using Understudy.Agent.Identity;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Failover;

/// <summary>
/// Probes of the services clients use, beside ICMP and TCP: a host that still pings may have a dead web server, smbd or
/// NFS server, and with <c>policy: weight</c> those can decide (docs/job-file.md, <c>failover.monitor</c>). Each returns
/// true only for the answer the job asks for; every failure, refusal or late answer is a miss. None throws for an
/// unreachable peer.
/// </summary>
internal static class ServiceProbes
{
    private const int BodyLimit = 64 * 1024;

    /// <summary>
    /// One client for every HTTP probe: a new connection per probe (Connection: close, nothing pooled), so a probe
    /// proves the service still accepts clients, not only that an old connection lives. The certificate is not
    /// checked: the probe asks "does the service answer", and a source's certificate names the service, not the
    /// address probed.
    /// </summary>
    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.Zero,
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public static async Task<bool> HttpAsync(MonitorAddress a, CancellationToken ct)
    {
        var host = a.Address.Contains(':') ? $"[{a.Address}]" : a.Address;
        var scheme = a.Method == MonitorMethod.Https ? "https" : "http";
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{scheme}://{host}:{a.Port ?? MonitorAddress.DefaultPort(a.Method)}{a.Path ?? "/"}");
        request.Headers.ConnectionClose = true;
        request.Headers.UserAgent.ParseAdd("understudy-monitor");
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!StatusMatches((int)response.StatusCode, a.Status ?? "200-399"))
            return false;
        if (a.Body is not { } wanted)
            return true;
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[BodyLimit];
        int n = 0;
        while (n < buffer.Length && await stream.ReadAsync(buffer.AsMemory(n), ct) is > 0 and var read)
            n += read;
        return System.Text.Encoding.UTF8.GetString(buffer, 0, n).Contains(wanted, StringComparison.Ordinal);
    }

    /// <summary>"200-399", "200,204": <paramref name="status"/> was validated with the job.</summary>
    public static bool StatusMatches(int code, string status)
    {
        foreach (var part in status.Split(','))
        {
            var ends = part.Trim().Split('-');
            int low = int.Parse(ends[0], System.Globalization.CultureInfo.InvariantCulture);
            int high = ends.Length == 2 ? int.Parse(ends[1], System.Globalization.CultureInfo.InvariantCulture) : low;
            if (code >= low && code <= high)
                return true;
        }
        return false;
    }

    /// <summary>
    /// smbclient logs on to the share (as a guest, or with the job's authentication file) and lists it, or reads the
    /// canary file to /dev/null: the share answers and its storage reads. No shell; the values were validated with the
    /// job (no quotes or ';' to end smbclient's command).
    /// </summary>
    public static async Task<bool> SmbAsync(ICommandRunner runner, MonitorAddress a, TimeSpan timeout, CancellationToken ct)
    {
        var args = new List<string> { $"//{a.Address}/{a.Share}" };
        if (a.Credentials is { } cred)
            args.AddRange(["-A", cred]);
        else
            args.Add("-N");
        if (a.Port is { } port)
            args.AddRange(["-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        int seconds = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
        args.AddRange(["-t", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "-c"]);
        args.Add(a.File is { } file ? $"get \"{file.Replace('/', '\\')}\" /dev/null" : "ls");
        var r = await runner.RunAsync("smbclient", args, new CommandOptions(timeout), ct);
        return r.Ok && !r.Output.Contains("NT_STATUS_", StringComparison.Ordinal);
    }

    /// <summary>
    /// The operator's script from this target's scripts directory (<see cref="ScriptPath"/>: inside it, not writable by
    /// group or others), run as a fail-over script is (<see cref="ScriptProcess"/>: its own session and process group,
    /// a minimal environment, the whole group ended at the timeout), with the probed address in
    /// <c>UNDERSTUDY_PROBE_ADDRESS</c>. Exit 0 within the timeout is up; any other exit, the timeout, or a script that is
    /// missing or refused is a miss (the plan review says NOT RUNNABLE before the operator approves it).
    /// </summary>
    public static async Task<bool> ScriptAsync(ICommandRunner runner, string scriptsDir, MonitorAddress a, TimeSpan timeout, CancellationToken ct)
    {
        if (ScriptPath.Resolve(scriptsDir, a.Run ?? "", out _) is not { } file)
            return false;
        var env = new Dictionary<string, string>(StringComparer.Ordinal) { ["UNDERSTUDY_PROBE_ADDRESS"] = a.Address };
        var r = await runner.RunAsync(file, [], new CommandOptions(timeout, env, Script: true), ct);
        return r.Ok;
    }

    /// <summary>
    /// An ONC RPC NULL call (RFC 5531) to the NFS program, version 4, over TCP: any reply to it comes from the NFS
    /// server itself (a port that only accepts connections is not enough). A server without version 4 answers
    /// PROG_MISMATCH, which still proves it serves.
    /// </summary>
    public static async Task<bool> NfsAsync(MonitorAddress a, CancellationToken ct)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(a.Address, a.Port ?? 2049, ct);
        var stream = tcp.GetStream();
        uint xid = (uint)Random.Shared.Next();
        var call = new byte[44];
        BinaryPrimitives.WriteUInt32BigEndian(call, 0x8000_0000u | 40); // last fragment, 40 bytes
        BinaryPrimitives.WriteUInt32BigEndian(call.AsSpan(4), xid);
        BinaryPrimitives.WriteUInt32BigEndian(call.AsSpan(8), 0);       // CALL
        BinaryPrimitives.WriteUInt32BigEndian(call.AsSpan(12), 2);      // RPC version
        BinaryPrimitives.WriteUInt32BigEndian(call.AsSpan(16), 100003); // NFS
        BinaryPrimitives.WriteUInt32BigEndian(call.AsSpan(20), 4);      // version 4
        // procedure 0 (NULL), credential and verifier AUTH_NONE with no body: the rest stays zero.
        await stream.WriteAsync(call, ct);
        var reply = new byte[16];
        await stream.ReadExactlyAsync(reply, ct);
        return BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4)) == xid && BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(8)) == 1; // REPLY
    }
}
