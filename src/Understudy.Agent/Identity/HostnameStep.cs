using Understudy.Agent.Events;

namespace Understudy.Agent.Identity;

/// <summary>Mode replace: the host name becomes the source's; the old one is written down first for fail-back.</summary>
internal sealed class HostnameStep(string name) : IHeldStep
{
    public string Name => $"host name {name}";

    public IReadOnlyList<string> Describe() => [$"record the current host name, then: hostname {name}"];

    public async Task ApplyAsync(StepContext ctx, CancellationToken ct)
    {
        if (!ctx.Options.SetHostname)
        {
            ctx.Info(EventCode.HostnameSkipped, $"not setting the host name to {name}: disabled for this agent (UNDERSTUDY_SET_HOSTNAME=0)");
            return;
        }
        if (ctx.Data is null)
        {
            var current = await ctx.RunAsync(ctx.Options.Hostname, [], ct);
            ctx.SaveData(current.Output.Trim());
        }
        await ctx.RunAsync(ctx.Options.Hostname, [name], ct, abortOnFailure: false);
        ctx.Info(EventCode.HostnameSet, $"host name set to {name} (was {ctx.Data})");
    }

    public async Task<string?> DriftAsync(StepContext ctx, CancellationToken ct)
    {
        if (!ctx.Options.SetHostname)
            return null;
        var now = (await ctx.RunAsync(ctx.Options.Hostname, [], ct)).Output.Trim();
        return now == name ? null : $"the host name is {now}, not {name}";
    }

    public async Task RevertAsync(StepContext ctx, CancellationToken ct)
    {
        if (ctx.Data is { Length: > 0 } old && ctx.Options.SetHostname)
            await ctx.RunAsync(ctx.Options.Hostname, [old], ct, abortOnFailure: false);
    }
}
