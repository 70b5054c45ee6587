using System.Globalization;
using System.Net;
using System.Text;
using Understudy.Testing;
using Understudy.Testing.Lab;

namespace Understudy.Bench.Failover;

/// <summary>
/// The same move done by keepalived (VRRP) in a fresh lab: keepalived on the source (MASTER) and
/// on the target (BACKUP) share the service address; both smbds serve [data] from the start (the
/// target's from a copy: keepalived moves addresses, nothing else). The source's link is cut; the
/// client reads through //SERVICE/data until the target's copy comes back.
/// </summary>
/// <remarks>
/// Matching timing: `advert_int` = the monitor interval. A VRRP backup declares the master dead after
/// 3 × advert_int + skew, skew = (256 − priority) / 256 × advert_int (RFC 3768/5798); priorities
/// 254 (master) and 253 (backup) make the skew 12 ms, so the dead interval is three missed adverts,
/// as `misses: 3` is three missed probes. Every other setting is keepalived's default (5 gratuitous
/// ARPs at once on becoming master, another 5 after 5 s).
/// </remarks>
internal static class KeepalivedRun
{
    public static async Task<RunResult> RunAsync(int run, Settings s)
    {
        await using var lab = await Lab.CreateAsync();
        var service = lab.NewServiceAddress();
        var content = Encoding.UTF8.GetBytes($"run {run}: the file the client reads through the share\n");
        foreach (var h in new[] { lab.Source, lab.Target })
        {
            var data = h.Sub("data");
            Directory.CreateDirectory(Path.Combine(data, "docs"));
            await File.WriteAllBytesAsync(Path.Combine(data, "docs", "report.txt"), content);
            await Smbd.StartAsync(h, [new SmbShare("data", data)], h == lab.Source ? "FILESRV" : "LABTGT");
        }

        var master = Start(lab, lab.Source, service, "MASTER", 254, s);
        await UntilAsync(() => lab.AddressHolders(service).Contains(lab.Source), "keepalived on the source to take the service address", master);
        var backup = Start(lab, lab.Target, service, "BACKUP", 253, s);
        await UntilAsync(() => backup.Log.Contains("Entering BACKUP STATE", StringComparison.Ordinal), "keepalived on the target to enter BACKUP", backup);
        // Past one whole dead interval with adverts heard: the backup is settled, not still in its first master-down timer.
        await Task.Delay(TimeSpan.FromMilliseconds(s.IntervalMs * (s.Misses + 1)));
        if (backup.Log.Contains("Entering MASTER STATE", StringComparison.Ordinal) || lab.AddressHolders(service).Contains(lab.Target))
            throw new LabException($"keepalived on the target became master while the source was up (adverts not heard?):\n{backup.Log}");
        var baseline = await ClientProbe.BaselineReadAsync(lab.Client, service, "data", "docs/report.txt");

        using var stop = new CancellationTokenSource();
        var appears = ClientProbe.AddressAppearsAsync(lab.Target, service, stop.Token);
        await lab.CutLinkAsync(lab.Source);
        var cut = DateTimeOffset.UtcNow;
        var read = await ClientProbe.FirstGoodReadAsync(lab.Client, service, "data", "docs/report.txt", content, s.Deadline);
        await stop.CancelAsync();
        if (s.Verbose)
            ClientProbe.Print(read, cut);
        var onTarget = await appears ?? throw new LabException("the service address never appeared on the target");
        var decision = Math.Round((onTarget - cut).TotalSeconds, 3);
        return new RunResult("keepalived", run, true, null, decision, decision, Math.Round((read.At - cut).TotalSeconds, 3), read.Attempts, null, baseline);
    }

    private static LabProcess Start(Lab lab, LabHost host, IPAddress service, string state, int priority, Settings s)
    {
        var dir = host.Sub("keepalived");
        Directory.CreateDirectory(dir);
        var conf = Path.Combine(dir, "keepalived.conf");
        var advert = (s.IntervalMs / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
        File.WriteAllText(conf, $$"""
            global_defs {
                router_id {{host.Name}}
                script_user root
                enable_script_security
            }
            vrrp_instance fobench {
                state {{state}}
                interface {{host.Interface}}
                virtual_router_id 51
                priority {{priority}}
                advert_int {{advert}}
                virtual_ipaddress {
                    {{service}}/{{Lab.PrefixLength}} dev {{host.Interface}}
                }
            }

            """);
        // Foreground, VRRP only, console log; own pid files, since two run on one machine.
        return lab.StartDaemon(host, ["keepalived", "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp",
            "-f", conf, "-p", Path.Combine(dir, "keepalived.pid"), "-r", Path.Combine(dir, "vrrp.pid")]);
    }

    private static async Task UntilAsync(Func<bool> condition, string what, LabProcess p)
    {
        try
        {
            await Wait.UntilAsync(() => condition() || p.HasExited, TimeSpan.FromSeconds(30), what);
        }
        catch (TimeoutException)
        {
            throw new LabException($"timed out waiting for {what}:\n{p.Log}");
        }
        if (p.HasExited)
            throw new LabException($"keepalived exited while waiting for {what}:\n{p.Log}");
    }
}
