using System.Text;
using Understudy.Core.Jobs;

namespace Understudy.Fuzz;

/// <summary>
/// A job file as `understudy job apply`/`job check` read it: UTF-8 text through <see cref="JobFile.Parse"/> (YAML, the
/// mapping to a <see cref="JobSpec"/>, validation), then the JSON the source sends its target, which must parse back.
/// Bad input: <see cref="JobFileException"/>.
/// </summary>
internal static class JobFileHarness
{
    public static void Run(byte[] input)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(input);
        }
        catch (DecoderFallbackException)
        {
            return; // File.ReadAllText would have replaced the bytes; the parser sees text either way
        }
        JobSpec spec;
        try
        {
            spec = JobFile.Parse(text, "fuzz.yaml");
        }
        catch (JobFileException)
        {
            return;
        }
        var json = JobSpecJson.Serialize(spec);
        JobSpecJson.Deserialize(json).Validate();
    }

    public static IEnumerable<(string, byte[])> Seeds()
    {
        yield return ("minimal.yaml", Encoding.UTF8.GetBytes(Minimal));
        yield return ("full.yaml", Encoding.UTF8.GetBytes(Full));
    }

    public const string Id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    public const string Minimal = $"""
        name: small
        source:
          paths: [/srv/www]
        target:
          address: backup1
          id: {Id}
          path: /srv/replica/web

        """;

    /// <summary>Every key of docs/job-file.md, with non-default values where there is a choice.</summary>
    public const string Full = """
        name: web-data
        source:
          paths: [/srv/www, /srv/shares/finance/]
          exclude: ["*.tmp", "cache/", "**/node_modules"]
        target:
          address: backup1.example:7421
          id: "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef"
          path: /srv/replica/web
        mirror:
          mode: checksum
          orphans: delete
        replication:
          enabled: true
          queue_limit: 2GiB
          bandwidth: 10MiB
          compression: zstd
          coalesce: 100ms
        verify:
          schedule: 24h
        failover:
          monitor:
            addresses:
              - { address: 192.0.2.10, method: icmp }
              - { address: 192.0.2.11, method: tcp, port: 7420 }
            interval: 2s
            misses: 3
            policy: any
          trigger: automatic
          mode: replace
          identity:
            addresses: [ { address: 192.0.2.10/24, interface: eth0, force: false } ]
            server_name: true
            source_name: fileserver1
            shares:
              - { name: finance, path: /srv/shares/finance, options: { "read only": "no", "browseable": yes } }
            nfs_exports:
              - { path: /srv/www, clients: "*", options: "rw,sync" }
          scripts:
            pre_failover:  [ { run: pre.sh, timeout: 45s } ]
            post_failover: [ post.sh ]
            abort_on_pre_failure: false
          arp: { count: 3, interval: 100ms }
        restore:
          mode: checksum
          conflicts: manual
        """;
}
