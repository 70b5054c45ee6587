using Understudy.Agent.Events;

namespace Understudy.Agent.Identity;

/// <summary>Asks smbd to re-read its configuration; a failure is a warning (smbd reads the files when it starts).</summary>
internal static class SambaReload
{
    public static async Task RunAsync(StepContext ctx, SambaConfig samba, CancellationToken ct)
    {
        var r = await ctx.Commands.RunAsync(ctx.Options.Smbcontrol, samba.ReloadArgs, CommandOptions.Default, ct);
        if (!r.Ok)
            ctx.Warn(EventCode.SambaReloadFailed, $"smbcontrol smbd reload-config failed ({r.Describe()}: {r.Output}); the configuration is written and takes effect when smbd (re)starts");
    }
}

/// <summary>
/// The target answers to the source's name. Mode add: a Samba <c>netbios aliases</c> entry beside the target's own
/// name. Mode replace (<paramref name="replace"/>): Samba's <c>netbios name</c> becomes the source's (the target gives
/// its own up, as it does its addresses); revert gives the admin's own <c>netbios name</c> back.
/// </summary>
internal sealed class ServerNameStep(string job, string name, IdentityOptions options, bool replace = false) : IHeldStep, IStagedStep
{
    private readonly SambaConfig _samba = new(options);

    public string Name => $"server name {name}";

    private string Fragment => replace ? _samba.NameFile(job) : _samba.AliasesFile(job);

    private string Include => replace ? _samba.NameInclude : _samba.GlobalInclude;

    public void Stage() => _samba.Stage(Fragment, name + "\n", Include);

    public void Unstage() => _samba.Unstage(Fragment, Include);

    public bool Staged => SambaConfig.IsStaged(Fragment, Include);

    public IReadOnlyList<string> Describe() =>
    [
        replace ? $"write {Fragment} ({name}) and merge into {_samba.NameInclude} (netbios name, included at the end of {options.SmbConf} so it replaces this server's own)"
            : $"write {Fragment} ({name}) and merge into {_samba.GlobalInclude} (netbios aliases)",
        "smbcontrol " + string.Join(' ', _samba.ReloadArgs),
    ];

    public async Task ApplyAsync(StepContext ctx, CancellationToken ct)
    {
        _samba.SetFragment(Fragment, name + "\n");
        await SambaReload.RunAsync(ctx, _samba, ct);
        ctx.Info(EventCode.ServerNameSet, replace ? $"this server's name is now {name} (netbios name)" : $"answering to the server name {name} (netbios aliases)");
    }

    public Task<string?> DriftAsync(StepContext ctx, CancellationToken ct) =>
        Task.FromResult(_samba.Drift(Fragment, name + "\n", replace ? _samba.NameInclude : _samba.GlobalInclude) is { } why ? $"server name {name}: {why}" : null);

    public async Task RevertAsync(StepContext ctx, CancellationToken ct)
    {
        _samba.SetFragment(Fragment, null);
        await SambaReload.RunAsync(ctx, _samba, ct);
    }
}

/// <summary>The source's Samba shares, re-created over the replica, through the include file and a reload.</summary>
internal sealed class SharesStep(string job, string sourceName, IReadOnlyList<(string Name, string Path, IReadOnlyList<(string Key, string Value)> Options)> shares, IdentityOptions options) : IHeldStep, IStagedStep
{
    private readonly SambaConfig _samba = new(options);

    public string Name => $"shares {string.Join(", ", shares.Select(s => s.Name))}";

    public IReadOnlyList<string> Describe() =>
    [
        .. shares.Select(s => $"share [{s.Name}] path = {s.Path}" + string.Concat(s.Options.Select(o => $"; {o.Key} = {o.Value}"))),
        $"write {_samba.SharesFile(job)}, merge into {_samba.SharesInclude}",
        "smbcontrol " + string.Join(' ', _samba.ReloadArgs),
    ];

    public void Stage() => _samba.Stage(_samba.SharesFile(job), Render(), _samba.SharesInclude);

    public void Unstage() => _samba.Unstage(_samba.SharesFile(job), _samba.SharesInclude);

    public bool Staged => SambaConfig.IsStaged(_samba.SharesFile(job), _samba.SharesInclude);

    public string Render() =>
        SambaConfig.RenderShares(job, sourceName, shares.Select(s => (s.Name, s.Path, (IEnumerable<(string, string)>)s.Options)));

    public async Task ApplyAsync(StepContext ctx, CancellationToken ct)
    {
        foreach (var s in shares)
        {
            if (!Directory.Exists(s.Path))
                ctx.Warn(EventCode.ShareMissing, $"share [{s.Name}]: {s.Path} does not exist on the target (not replicated yet?)");
        }
        _samba.SetFragment(_samba.SharesFile(job), Render());
        await SambaReload.RunAsync(ctx, _samba, ct);
        ctx.Info(EventCode.SharesServed, $"serving shares {string.Join(", ", shares.Select(s => $"[{s.Name}] → {s.Path}"))}");
    }

    public Task<string?> DriftAsync(StepContext ctx, CancellationToken ct) =>
        Task.FromResult(_samba.Drift(_samba.SharesFile(job), Render(), _samba.SharesInclude) is { } why ? $"share {string.Join(", ", shares.Select(s => s.Name))}: {why}" : null);

    public async Task RevertAsync(StepContext ctx, CancellationToken ct)
    {
        _samba.SetFragment(_samba.SharesFile(job), null);
        await SambaReload.RunAsync(ctx, _samba, ct);
    }
}
