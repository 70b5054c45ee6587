namespace Understudy.Core.Tests.Jobs;

internal static class JobSamples
{
    public const string Id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// <summary>Every key of the reference, with non-default values where there is a choice.</summary>
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
          max_hold: 2s
        verify:
          schedule: 24h
        failover:
          monitor:
            addresses:
              - { address: 192.0.2.10, method: icmp }
              - { address: 192.0.2.11, method: tcp, port: 7420 }
              - { address: 192.0.2.12, method: tcp }
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
            pre_failback: []
            post_failback: []
            abort_on_pre_failure: false
          arp: { count: 3, interval: 100ms }
        restore:
          mode: checksum
          conflicts: manual
          replaced: discard
        """;

    public const string Minimal = $"""
        name: small
        source:
          paths: [/srv/www]
        target:
          address: backup1
          id: {Id}
          path: /srv/replica/web

        """;
}
