using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Understudy.Agent.Jobs;
using Understudy.Agent.Metrics;
using Understudy.Agent.Notify;
using Understudy.Core.Api;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Api;

internal sealed partial class ApiRoutes
{
    /// <summary>Notifications (docs/monitoring.md): the rules in force, a reload of the notify file, a test message.</summary>
    private void MapNotify(RouteGroupBuilder api)
    {
        api.MapGet("/notify", () => Results.Ok(NotifyView())).Produces<NotifyReply>();
        api.MapPost("/notify/reload", () =>
        {
            try
            {
                notifier.Reload();
            }
            catch (Exception e) when (e is JobFileException or IOException or UnauthorizedAccessException)
            {
                throw new JobRequestException($"the notify file was not loaded (the rules in force stay): {e.Message}");
            }
            return Results.Ok(NotifyView());
        }).Produces<NotifyReply>();
        api.MapPost("/notify/test", async (NotifyTestRequest req, CancellationToken ct) =>
        {
            if (req.Destination is { } d && notifier.Settings.Destinations.All(x => x.Name != d))
                throw new JobRequestException($"no notification destination named '{d}' (see 'understudy notify show')", 404);
            if (notifier.Settings.Destinations.Count == 0)
                throw new JobRequestException($"no notification destinations: write {notifier.FilePath} (docs/monitoring.md), then 'understudy notify reload'", 409);
            return Results.Ok(new NotifyTestReply(await notifier.TestAsync(req.Destination, ct)));
        }).Produces<NotifyTestReply>();
    }

    /// <summary><c>GET /metrics</c>, beside <c>/api</c> where scrapers look for it; its token rules are AgentHost's.</summary>
    private void MapMetrics(IEndpointRouteBuilder app) =>
        app.MapGet("/metrics", () => Results.Text(metrics.Render(), PrometheusText.ContentType, Encoding.UTF8));

    private NotifyReply NotifyView()
    {
        var s = notifier.Settings;
        var stats = notifier.Stats().ToDictionary(x => x.Name, StringComparer.Ordinal);
        return new NotifyReply(notifier.FilePath, File.Exists(notifier.FilePath), notifier.LoadError,
            [.. s.Destinations.Select(d => new NotifyDestinationView(d.Name, d.Kind, d.Describe, d.Webhook?.Secret is not null, d.Retries,
                d.Backoff.TotalSeconds, d.Timeout.TotalSeconds,
                stats.TryGetValue(d.Name, out var st) ? st.Delivered : 0, stats.TryGetValue(d.Name, out st) ? st.Failed : 0,
                stats.TryGetValue(d.Name, out st) ? st.Queued : 0))],
            [.. s.Rules.Select(r => new NotifyRuleView(r.Severities, r.Categories, r.Codes, r.Jobs, r.To))],
            s.PendingRepeat.TotalSeconds);
    }
}
