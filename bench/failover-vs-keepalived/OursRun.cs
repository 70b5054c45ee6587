using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Understudy.Testing;
using Understudy.Testing.Lab;

namespace Understudy.Bench.Failover;

/// <summary>
/// One Understudy fail-over in a fresh lab: the source serves share [data] at a service address;
/// a job replicates it to the target, which watches the source's own address (ICMP) and, on its
/// loss, takes over the service address and the share (mode add, automatic trigger). The source's
/// link is cut; the client reads through //SERVICE/data until the replicated file comes back.
/// </summary>
internal static class OursRun
{
    public const string Job = "fobench";

    /// <summary>With <paramref name="witness"/>: the same job with an etcd witness on a fourth lab host (bench/witness.sh).</summary>
    public static async Task<RunResult> RunAsync(int run, Settings s, WitnessSettings? witness = null)
    {
        await using var lab = await Lab.CreateAsync();
        var (target, service, content) = await SetUpAsync(lab, run, s, witness);
        return await MeasureAsync(lab, target, run, service, content, s, witness is null ? "understudy" : "witness");
    }

    /// <summary>Everything up to a protecting, monitoring job whose share the client has read through the source.</summary>
    private static async Task<(LabAgent Target, IPAddress Service, byte[] Content)> SetUpAsync(Lab lab, int run, Settings s, WitnessSettings? witness)
    {
        var etcd = witness is null ? null : await EtcdWitness.StartAsync(lab);
        var service = lab.NewServiceAddress();
        await lab.AddAddressAsync(lab.Source, service);
        var data = lab.Source.Sub("data");
        var replica = lab.Target.Sub("replica");
        Directory.CreateDirectory(Path.Combine(data, "docs"));
        var content = Encoding.UTF8.GetBytes($"run {run}: the file the client reads through the share\n");
        await File.WriteAllBytesAsync(Path.Combine(data, "docs", "report.txt"), content);

        await Smbd.StartAsync(lab.Source, [new SmbShare("data", data)], "FILESRV");
        var targetSmbd = await Smbd.StartAsync(lab.Target, [], "LABTGT");

        var source = lab.Own(new LabAgent(lab.Source));
        await source.StartAsync();
        // The target agent writes the shares it takes over into its own smbd's configuration. The
        // variables are inherited by the process started next, and only by it.
        var env = new Dictionary<string, string>
        {
            ["UNDERSTUDY_SMB_CONF"] = targetSmbd.ConfigPath,
            ["UNDERSTUDY_SMB_INCLUDE_DIR"] = Path.Combine(targetSmbd.Dir, "understudy.d"),
            ["UNDERSTUDY_SET_HOSTNAME"] = "0",
        };
        var target = lab.Own(new LabAgent(lab.Target));
        foreach (var (k, v) in env)
            Environment.SetEnvironmentVariable(k, v);
        try
        {
            await target.StartAsync();
        }
        finally
        {
            foreach (var k in env.Keys)
                Environment.SetEnvironmentVariable(k, null);
        }
        await source.TrustAsync(target);
        await target.TrustAsync(source);

        var section = FailoverSection(lab, service, data, s);
        if (etcd is not null && witness is not null)
            section = section.TrimEnd() + "\n" + etcd.Section($"{witness.LeaseSeconds}s", $"{witness.RenewMs}ms");
        await source.ApplyJobAsync(LabAgent.JobYaml(Job, data, target, replica, section));
        await source.WaitMirroredAsync(Job);
        await WaitMonitoringAsync(target);
        // The target's operator approves the plan the source sent (issue 19, item 2); nothing fails over before.
        await ApproveAsync(target);
        if (etcd is not null)
            await WaitHeldAsync(source);
        return (target, service, content);
    }

    private static string FailoverSection(Lab lab, IPAddress service, string data, Settings s) => $"""
        failover:
          monitor:
            addresses: [{lab.Source.Address}]
            interval: {s.IntervalMs}ms
            misses: {s.Misses}
            policy: all
          trigger: automatic
          mode: add
          identity:
            addresses:
              - address: {service}/{Lab.PrefixLength}
                interface: {lab.Target.Interface}
            shares:
              - name: data
                path: {data}
                options: {"{"} "guest ok": "yes", "read only": "no", "force user": "root" {"}"}
        {(s.ArpCount is { } n ? $"  arp:\n    count: {n}" : "")}
        """;

    /// <summary>Until the target's monitor has heard the source: a fail-over measured from a cold monitor would not be one.</summary>
    private static async Task WaitMonitoringAsync(LabAgent target)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var r = await target.CliAsync(["status", Job, "--json"]);
            if (r.ExitCode == 0 && JsonNode.Parse(r.Stdout) is { } f && f["state"]?.GetValue<string>() == "protecting"
                && f["addresses"]?.AsArray().All(a => a?["state"]?.GetValue<string>() == "up") == true)
                return;
            if (DateTime.UtcNow > until)
                throw new LabException($"the target never reported the job protecting with every address up: {r.Stdout}{r.Stderr}");
            await Task.Delay(200); // pacing between status calls
        }
    }

    private static async Task<RunResult> MeasureAsync(Lab lab, LabAgent target, int run, IPAddress service, byte[] content, Settings s, string subject)
    {
        // The client has used the address (its ARP cache points at the source), as a real client has.
        var baseline = await ClientProbe.BaselineReadAsync(lab.Client, service, "data", "docs/report.txt");
        using var stop = new CancellationTokenSource();
        var appears = ClientProbe.AddressAppearsAsync(lab.Target, service, stop.Token);
        await lab.CutLinkAsync(lab.Source);
        var cut = DateTimeOffset.UtcNow;
        var read = await ClientProbe.FirstGoodReadAsync(lab.Client, service, "data", "docs/report.txt", content, s.Deadline);
        await stop.CancelAsync();
        var onTarget = await appears;

        var events = await EventsAsync(target);
        if (s.Verbose)
        {
            ClientProbe.Print(read, cut);
            foreach (var e in events)
                Console.WriteLine(FormattableString.Invariant(
                    $"    {(DateTimeOffset.Parse(e["time"]!.GetValue<string>(), CultureInfo.InvariantCulture) - cut).TotalSeconds,7:0.000} s  [{e["category"]}] {e["message"]}"));
        }
        var triggered = events.FirstOrDefault(e => e!["message"]!.GetValue<string>().StartsWith("fail-over triggered", StringComparison.Ordinal))
            ?? throw new LabException("no 'fail-over triggered' event on the target");
        var done = events.FirstOrDefault(e => e!["message"]!.GetValue<string>().StartsWith("failed over", StringComparison.Ordinal));
        double? agentMs = done?["data"] is { } d && JsonNode.Parse(d.GetValue<string>())?["takeoverMs"] is { } ms ? ms.GetValue<double>() : null;
        var decision = DateTimeOffset.Parse(triggered["time"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        return new RunResult(subject, run, true, null,
            Seconds(decision - cut), onTarget is { } t ? Seconds(t - cut) : double.NaN, Seconds(read.At - cut), read.Attempts, agentMs / 1000, baseline);
    }

    private static async Task ApproveAsync(LabAgent target)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((await target.CliAsync(["failover", Job, "--approve"])).ExitCode != 0)
        {
            if (DateTime.UtcNow > until)
                throw new LabException("the target could not approve the fail-over plan");
            await Task.Delay(200); // pacing: the plan arrives with the source's next report
        }
    }

    /// <summary>Until the source holds its witness key: a run measured before it would time a take-over of a key nobody held.</summary>
    private static async Task WaitHeldAsync(LabAgent source)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!(await EventsAsync(source)).Any(e => e["message"]!.GetValue<string>().StartsWith("holds the witness key", StringComparison.Ordinal)))
        {
            if (DateTime.UtcNow > until)
                throw new LabException("the source never took its witness key");
            await Task.Delay(200); // pacing between CLI calls
        }
    }

    /// <summary>The job's events on an agent (`events --json` prints one object per line).</summary>
    public static async Task<List<JsonNode>> EventsAsync(LabAgent agent) =>
        [.. (await agent.CliOkAsync(["events", "--job", Job, "--json", "--limit", "500"])).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(l => JsonNode.Parse(l)!)];

    private static double Seconds(TimeSpan t) => Math.Round(t.TotalSeconds, 3);
}
