using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Agent.State;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

/// <summary>Records every command and answers from a script of rules: the identity providers' argument lists are checked here.</summary>
internal sealed class FakeCommandRunner : ICommandRunner
{
    private readonly List<(string File, string[] Args, CommandOptions Options)> _calls = [];

    /// <summary>Answers a call; the default says exit 0, no output.</summary>
    public Func<string, string[], CommandResult> Respond { get; set; } = (_, _) => new CommandResult(0, "", false);

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_calls)
                return [.. _calls.Select(c => string.Join(' ', [c.File, .. c.Args]))];
        }
    }

    public Task<CommandResult> RunAsync(string file, IReadOnlyList<string> args, CommandOptions options, CancellationToken ct)
    {
        var a = args.ToArray();
        lock (_calls)
            _calls.Add((file, a, options));
        return Task.FromResult(Respond(file, a));
    }
}

/// <summary>A state store and event log in a temp dir; reopenable, to simulate an agent restart.</summary>
internal sealed class StoreHarness : IDisposable
{
    private readonly TempDir _dir = new();

    public StoreHarness()
    {
        Directory.CreateDirectory(_dir.Sub("data"));
        Directory.CreateDirectory(_dir.Sub("scripts"));
        Reopen();
    }

    public string Dir => _dir.Path;

    public StateStore Store { get; private set; } = null!;

    public EventLog Events { get; private set; } = null!;

    public IdentityOptions Options => new()
    {
        SmbConf = _dir.Sub("smb.conf"),
        SambaIncludeDir = _dir.Sub("understudy.d"),
        GaneshaConf = _dir.Sub("ganesha.conf"),
        GaneshaIncludeDir = _dir.Sub("ganesha.d"),
        GaneshaPidFile = _dir.Sub("ganesha.pid"),
        SetHostname = false,
        ScriptsDir = _dir.Sub("scripts"),
    };

    /// <summary>Closes and reopens the store: what a killed agent finds on its next start.</summary>
    public void Reopen()
    {
        Store?.Dispose();
        Store = new StateStore(_dir.Sub("data"));
        Events = new EventLog(Store, NullLogger<EventLog>.Instance, TimeProvider.System);
    }

    public IReadOnlyList<AgentEvent> EventsOf(string job) => [.. Events.List(job, 0, 1000).Reverse()];

    public void Dispose()
    {
        Store.Dispose();
        _dir.Dispose();
    }
}

internal static partial class Root
{
    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    public static bool IsRoot => GetEuid() == 0;
}

/// <summary>Facts that create network namespaces: root only.</summary>
public sealed class NetnsFactAttribute : FactAttribute
{
    public NetnsFactAttribute()
    {
        if (!Root.IsRoot)
            Skip = "needs root (euid 0) to create a network namespace (ip netns add)";
        else if (!File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip"))
            Skip = "needs iproute2 ('ip') to create a network namespace";
    }
}
