using System.Net;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Understudy.Agent.Api;
using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Agent.Failover;
using Understudy.Agent.Identity;
using Understudy.Agent.Jobs;
using Understudy.Agent.Peer;
using Understudy.Agent.State;
using Understudy.Agent.Target;

namespace Understudy.Agent.Hosting;

/// <summary>
/// The daemon: peer listener, target service, source jobs and the management API, wired
/// together and run until SIGINT/SIGTERM. Speaks sd_notify (<see cref="SdNotify"/>) and logs in a journald-friendly form (<see cref="AgentLogging"/>).
/// </summary>
internal sealed class AgentHost : IAsyncDisposable
{
    private readonly WebApplication _web;
    private readonly PeerListener _peer;
    private readonly SdNotify? _notify = SdNotify.FromEnvironment();
    private readonly TimeSpan? _watchdogInterval = AgentWatchdog.IntervalFromEnvironment();
    private AgentWatchdog? _watchdog;
    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2 _apiCertificate;

    private AgentHost(AgentContext ctx, WebApplication web, PeerListener peer, JobManager jobs, TargetService target, FailoverManager failover,
        Restore.PassivePoller passive, Notify.Notifier notifier, System.Security.Cryptography.X509Certificates.X509Certificate2 apiCertificate)
    {
        Notifier = notifier;
        Failover = failover;
        Context = ctx;
        _web = web;
        _peer = peer;
        Jobs = jobs;
        Target = target;
        Passive = passive;
        _apiCertificate = apiCertificate;
    }

    public AgentContext Context { get; }

    public JobManager Jobs { get; }

    public TargetService Target { get; }

    public FailoverManager Failover { get; }

    /// <summary>The source side of restore and fail-back: polls the target for passive jobs.</summary>
    public Restore.PassivePoller Passive { get; }

    /// <summary>The source's witness holds (jobs with failover.witness).</summary>
    public Witness.SourceWitness? Witness { get; init; }

    /// <summary>A returning source's stand-down from the identity of its failed-over jobs.</summary>
    public SourceDemotion? Demotion { get; init; }

    /// <summary>When each job last heard from its target, kept for the fence of a returning source (<see cref="SourceDemotion"/>).</summary>
    public TargetContact? Contact { get; init; }

    /// <summary>What the stand-down at start did (before the event log existed): recorded first thing in <see cref="StartAsync"/>.</summary>
    public IReadOnlyList<EarlyStandDown> EarlyStandDowns { get; init; } = [];

    /// <summary>Notifications: follows the event log from start to dispose (docs/monitoring.md).</summary>
    public Notify.Notifier Notifier { get; }

    public IPEndPoint? PeerEndPoint => _peer.LocalEndPoint;

    public static async Task<AgentHost> CreateAsync(AgentOptions options, CancellationToken ct)
    {
        DataDir.Ensure(options.DataDir);
        var store = new StateStore(options.DataDir);
        var name = options.Name ?? Environment.MachineName;
        // The environment's knobs, read here once (docs/cli.md, "Agent environment") and handed down; no part reads them later.
        Func<string, string?> env = Environment.GetEnvironmentVariable;
        var identityOptions = IdentityOptions.FromEnvironment(env);
        // One per host: its gate orders a reclaim (fail-back, unfence) against the stand-down of a returning source.
        var sourceIdentity = new SourceIdentity(ProcessCommandRunner.Instance, identityOptions, name);
        var time = TimeProvider.System;
        // First, as soon as the state can be read and before anything slow: a job failed over to its target, or that the
        // target may have taken over while this agent was away (the fence, SourceDemotion.Fence.cs), takes down what this
        // host's OS brought up of its identity at boot (an address, a share, an export): it is never on two hosts (issue 20,
        // item 4). Its events are recorded once the event log exists (StartAsync).
        var early = await SourceDemotion.StandDownStoredAsync(store, time, sourceIdentity, ct);
        var identity = AgentIdentity.LoadOrCreate(options.DataDir);
        var token = DataDir.LoadOrCreateToken(options.DataDir);
        var metricsToken = DataDir.LoadOrCreateToken(options.DataDir, DataDir.MetricsTokenFile);

        // Content root = data dir and no config reload: the default (cwd, reloadOnChange) puts a
        // recursive inotify watch on the working directory — `/` under systemd — so every write the
        // agent (or anyone) makes below it woke a watcher thread (measured: ~17 % of the target's
        // CPU during a mirror run from a parent of the target path).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = options.DataDir,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        AgentLogging.Configure(builder.Logging);
        var apiEndPoint = PeerLink.ParseEndPoint(options.Api, 7421);
        bool loopback = IPAddress.IsLoopback(apiEndPoint.Address);
        var apiCertificate = options.ApiCertificate is null ? identity.Certificate : LoadApiCertificate(options.ApiCertificate, options.ApiKey);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(apiEndPoint, l =>
            {
                // Off loopback the API is HTTPS only, with the agent's own certificate or the admin's.
                if (!loopback || options.ApiCertificate is not null)
                    l.UseHttps(apiCertificate);
            });
        });
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            // Stable output (docs/cli.md): enums by their [JsonStringEnumMemberName] words, durations as "1s".
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            o.SerializerOptions.Converters.Add(new Core.Jobs.DurationJsonConverter());
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
            // The API's records (Understudy.Core.Api) by their generated metadata, the same the CLI reads them with.
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, Core.Api.ApiJson.Default);
        });
        // A body that does not bind (bad JSON, wrong type) throws, so the API middleware answers it as problem+json.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        var web = builder.Build();
        var events = new EventLog(store, web.Services.GetRequiredService<ILogger<EventLog>>(), time,
            new OpTrace(web.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Understudy.Trace")))
        {
            Retention = options.Retention ?? new EventRetention(),
        };
        events.Trim();
        if (store.TrustPolicyMigrated.Count > 0)
            events.Record(EventCode.TrustPolicyMigrated, Severity.Security, "trust", null,
                "trust entries now carry the roots their jobs may write under and their privileges (no setuid/setgid, no security.*/trusted.* xattrs unless allowed): "
                + string.Join("; ", store.TrustPolicyMigrated));
        var loops = new LoopSupervisor(events, time, FaultInjection.FromEnvironment(env));
        var ctx = new AgentContext(identity, name, options.DataDir, store, events, time, loops) { Settings = AgentSettings.FromEnvironment(env), PeerHeartbeat = options.PeerHeartbeat };
        if (ctx.Settings.FaultFileSystem is { } faults)
        {
            // Before any tree is opened: every call below the apply and walk code goes through it from now on.
            Core.Posix.FileSystem.Use(new Core.Posix.FaultingFileSystem(faults));
            events.Record(EventCode.FaultFileSystemOn, Severity.Warning, "agent", null,
                $"file-system fault injection is on (UNDERSTUDY_FAULT_FS={faults}): a test setting, never for production");
        }
        var jobs = new JobManager(ctx, Replication.Capture.WatcherOptions.FromEnvironment(env));
        // The one cycle in the wiring: the target asks fail-over about every source that connects, and a take-over
        // stops the target's replication. Fail-over is built first; its control reaches the target once bound, just
        // below, long before a take-over can run (TargetReplicationControl.cs).
        var replication = new TargetReplicationControl();
        var failover = new FailoverManager(new FailoverServices(store, events, time, identityOptions,
            ProcessCommandRunner.Instance, new NetworkProber(ProcessCommandRunner.Instance, identityOptions.ScriptsDir), replication, Loops: loops)
        { SelfId = identity.Id, Settings = ctx.Settings });
        var target = new TargetService(store, events, options.DataDir, failover, new Restore.PassivePollHandler(failover, events).HandleAsync);
        replication.Bind(target);
        // The source's witness holds: a fence reclaims through the fail-back's own reclaim (the hold has the key then);
        // fail-back's reclaim, through the passive poller, takes the key first.
        var fence = new Witness.SourceFence(ctx, ProcessCommandRunner.Instance, identityOptions, async (spec, token) =>
            await new Restore.SourceReclaim(ctx, ProcessCommandRunner.Instance, identityOptions, identity: sourceIdentity).ReclaimAsync(spec, token) is { Ok: false } r
                ? r.Error ?? "reclaim failed" : null);
        var witness = new Witness.SourceWitness(ctx, jobs, fence, job => PassiveGuard.ReasonFor(ctx, job) is not null);
        jobs.WitnessStatus = witness.View;
        var demotion = new SourceDemotion(ctx, jobs, sourceIdentity);
        var passive = new Restore.PassivePoller(ctx, jobs, ProcessCommandRunner.Instance, identityOptions, witness.TakeForReclaimAsync, sourceIdentity, demotion.Wake);
        var peer = new PeerListener(PeerLink.ParseEndPoint(options.Listen, PeerLink.DefaultPort), identity, name, store, events,
            PeerHeartbeat.For(ctx), ctx.Settings.RefusalWindow, target.HandleConnectionAsync, web.Services.GetRequiredService<ILogger<PeerListener>>());
        var notifier = new Notify.Notifier(events, time, new Core.Api.AgentName(identity.Id, name), AgentVersion.Current,
            options.NotifyFile ?? Path.Combine(options.DataDir, Notify.NotifyFile.DefaultName),
            () => [.. failover.Engines.Where(e => e.State == FailoverState.Pending).Select(e => new Notify.PendingFailover(e.Job, e.SourceName, e.Reason))]);
        var agent = new AgentHost(ctx, web, peer, jobs, target, failover, passive, notifier, apiCertificate) { Witness = witness, Demotion = demotion, Contact = new TargetContact(ctx, jobs), EarlyStandDowns = early };
        var metrics = new Metrics.AgentMetrics(new Metrics.MetricsSources(ctx, AgentVersion.Current, time.GetUtcNow(), jobs, target, failover, passive,
            notifier, () => peer.OpenConnections));

        var hosts = new ApiHostFilter(options.AllowedHosts ?? []);
        web.Use(async (http, next) =>
        {
            // First, for the console's files too: a name this agent does not answer to is a DNS rebinding page's.
            if (!hosts.Allows(http.Request.Host))
            {
                await ApiProblem.WriteAsync(http, StatusCodes.Status421MisdirectedRequest,
                    $"this agent does not answer to the host name '{http.Request.Host.Host}' (allow it with 'understudy agent --api-allowed-host NAME')");
                return;
            }
            if (http.Request.Path.Equals("/metrics", StringComparison.Ordinal))
            {
                if (!MetricsAllowed(http, token, metricsToken, options.MetricsAnonymousLoopback))
                {
                    await ApiProblem.WriteAsync(http, StatusCodes.Status401Unauthorized,
                        "missing or wrong token: send Authorization: Bearer with the agent's metrics-token (or api-token) file");
                    return;
                }
            }
            else if (http.Request.Path.StartsWithSegments("/api"))
            {
                if (ApiCors.Handle(http))
                    return;
                var auth = http.Request.Headers.Authorization.ToString();
                var query = http.Request.Query["token"].ToString();
                bool ok = TokenMatches(auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : "", token)
                    || (QueryTokenAllowed(http.Request) && TokenMatches(query, token))
                    || http.Request.Path.Equals("/api/v1/health", StringComparison.Ordinal);
                if (!ok)
                {
                    await ApiProblem.WriteAsync(http, StatusCodes.Status401Unauthorized, query.Length > 0 && !QueryTokenAllowed(http.Request)
                        ? "?token= is accepted only by GET /api/v1/events/stream; send the header Authorization: Bearer TOKEN"
                        : "missing or wrong API token (see the agent's data dir, file api-token)");
                    return;
                }
            }
            try
            {
                await next(http);
            }
            catch (JobRequestException e)
            {
                await ApiProblem.WriteAsync(http, e.Status, e.Message, e.Detail);
            }
            catch (BadHttpRequestException e)
            {
                await ApiProblem.WriteAsync(http, StatusCodes.Status400BadRequest, e.Message);
            }
        });
        new ApiRoutes(ctx, jobs, target, failover, () => agent.PeerEndPoint, AgentVersion.Current, notifier, metrics).Map(web);
        return agent;
    }

    /// <summary>
    /// A token in the URL only where a browser cannot send a header: EventSource on the event stream. Elsewhere a URL
    /// carrying it would leave it in logs, proxies and histories for nothing.
    /// </summary>
    private static bool QueryTokenAllowed(HttpRequest r) =>
        HttpMethods.IsGet(r.Method) && r.Path.Equals("/api/v1/events/stream", StringComparison.Ordinal);

    /// <summary>
    /// GET /metrics: the read-only metrics token or the API token; without one only from loopback, and only when the
    /// operator asked for it (<c>--metrics-anonymous-loopback</c>): a local user could read job names and paths otherwise.
    /// </summary>
    private static bool MetricsAllowed(HttpContext http, string token, string metricsToken, bool anonymousLoopback)
    {
        var auth = http.Request.Headers.Authorization.ToString();
        var given = auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : "";
        if (TokenMatches(given, metricsToken) || TokenMatches(given, token))
            return true;
        return anonymousLoopback && http.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip);
    }

    /// <summary>Constant time, so response timing does not reveal how much of a guessed token was right.</summary>
    private static bool TokenMatches(string given, string token) =>
        given.Length > 0 && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(given), System.Text.Encoding.UTF8.GetBytes(token));

    /// <summary>PEM certificate + key (`--api-cert`, `--api-key`), or one PKCS#12 file without a password.</summary>
    private static System.Security.Cryptography.X509Certificates.X509Certificate2 LoadApiCertificate(string cert, string? key)
    {
        try
        {
            if (key is not null || cert.EndsWith(".pem", StringComparison.OrdinalIgnoreCase) || cert.EndsWith(".crt", StringComparison.OrdinalIgnoreCase))
            {
                using var pem = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(cert, key);
                // Export/import: Kestrel on Linux needs a certificate whose key is not ephemeral.
                return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(pem.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
            }
            return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(cert, null);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new FormatException($"cannot load the API certificate {cert}{(key is null ? "" : $" with key {key}")}: {e.Message}", e);
        }
    }

    public async Task StartAsync(CancellationToken ct)
    {
        // First: the events of everything that starts below can be notified.
        Notifier.Start();
        // Before anything serves or connects: what the stand-down of a returning source did, first thing in CreateAsync.
        Demotion?.RecordEarly(EarlyStandDowns);
        // Before the peer link and the fail-over engines: a write-order replica is its last complete point first.
        Target.RecoverAllPoints();
        // Before the peer link: a source registering must find the stored engines, not race them.
        Failover.Start();
        _peer.Start();
        await _web.StartAsync(ct);
        var apiUrl = _web.Urls.FirstOrDefault() ?? "";
        // Line 2: the HTTPS certificate's SHA-256, so the local CLI pins it (the agent's own is self-signed).
        var pin = apiUrl.StartsWith("https:", StringComparison.Ordinal)
            ? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(_apiCertificate.RawData)) + "\n" : "";
        DataDir.WritePrivateFile(Path.Combine(Context.DataDir, DataDir.ApiAddressFile), System.Text.Encoding.UTF8.GetBytes(apiUrl + "\n" + pin));
        Jobs.LoadStored();
        Witness?.Start();
        Demotion?.Start();
        Contact?.Start();
        Passive.Start();
        Context.Events.Record(EventCode.AgentStarted, Severity.Info, "agent", null, $"agent {Context.AgentName} started: ID {Context.Identity.Id}, peer link {PeerEndPoint}, API {apiUrl}");
        // Only now: the API answers and the stored jobs run, so `systemctl start` returns to a working agent.
        _notify?.Send($"READY=1\nSTATUS=serving API {apiUrl}, peer link {PeerEndPoint}\nMAINPID={Environment.ProcessId}");
        _watchdog = AgentWatchdog.Start(_notify, _watchdogInterval, Context.Loops, Context.Time);
    }

    public Task WaitForShutdownAsync(CancellationToken ct) => _web.WaitForShutdownAsync(ct);

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        // The web host's container also owns this instance (it resolves it for the routes).
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        _notify?.Send("STOPPING=1\nSTATUS=stopping");
        if (_watchdog is not null)
            await _watchdog.DisposeAsync();
        Context.Events.Record(EventCode.AgentStopping, Severity.Info, "agent", null, "agent stopping");
        await Passive.DisposeAsync();
        if (Demotion is not null)
            await Demotion.DisposeAsync();
        if (Witness is not null)
            await Witness.DisposeAsync();
        await Notifier.DisposeAsync();
        // Before the jobs close their sessions: the last contact with each target is written as it stands.
        if (Contact is not null)
            await Contact.DisposeAsync();
        await Jobs.DisposeAsync();
        await Failover.DisposeAsync();
        await _peer.DisposeAsync();
        await _web.StopAsync();
        await _web.DisposeAsync();
        Context.Events.Dispose();
        Context.Store.Dispose();
        Context.Identity.Dispose();
        _notify?.Dispose();
    }
}
