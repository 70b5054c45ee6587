using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Observability;

/// <summary>Scrapes an agent's GET /metrics as Prometheus would, and reads samples out of the text.</summary>
internal static class MetricsScrape
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public static string MetricsToken(this AgentProcess a) => File.ReadAllText(Path.Combine(a.DataDir, "metrics-token")).Trim();

    public static string ApiToken(this AgentProcess a) => File.ReadAllText(Path.Combine(a.DataDir, "api-token")).Trim();

    public static async Task<(HttpStatusCode Status, string Body, string? ContentType)> GetAsync(this AgentProcess a, string path, string? token)
    {
        using var req = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{a.ApiPort}{path}");
        if (token is not null)
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var resp = await Http.SendAsync(req);
        return (resp.StatusCode, await resp.Content.ReadAsStringAsync(), resp.Content.Headers.ContentType?.ToString());
    }

    public static async Task<string> ScrapeAsync(this AgentProcess a)
    {
        var (status, body, _) = await a.GetAsync("/metrics", a.MetricsToken());
        Assert.Equal(HttpStatusCode.OK, status);
        return body;
    }

    /// <summary>Samples by their full series text (<c>name{labels}</c> exactly as written).</summary>
    public static Dictionary<string, double> Samples(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#'))
            .Select(l => (Series: l[..l.LastIndexOf(' ')], Value: l[(l.LastIndexOf(' ') + 1)..]))
            .ToDictionary(x => x.Series, x => double.Parse(x.Value, CultureInfo.InvariantCulture), StringComparer.Ordinal);

    public static double? Value(string text, string series) => Samples(text).TryGetValue(series, out var v) ? v : null;

    /// <summary>`promtool check metrics` on the text: null when it passes, else what it said.</summary>
    public static async Task<string?> PromtoolCheckAsync(string text)
    {
        if (Promtool.Path is null)
            return "promtool is not installed (Debian package 'prometheus': .ci/run installs it)";
        var psi = new ProcessStartInfo(Promtool.Path, "check metrics") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.StandardInput.WriteAsync(text);
        p.StandardInput.Close();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return p.ExitCode == 0 ? null : $"promtool exit {p.ExitCode}: {await o}{await e}";
    }
}

/// <summary>promtool (Debian package <c>prometheus</c>), which .ci/run installs.</summary>
internal static class Promtool
{
    public static readonly string? Path = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);

    /// <summary>Null (run) when promtool is there, or on CI, where its absence is a failure and not a reason to skip.</summary>
    public static string? SkipReason =>
        Path is not null || Environment.GetEnvironmentVariable("CI") == "true"
            ? null
            : "promtool is not installed (Debian package 'prometheus'; .ci/run installs it, and on CI this test never skips)";
}

/// <summary>A test that needs promtool: skipped with the reason when it is missing, except on CI.</summary>
internal sealed class PromtoolFactAttribute : FactAttribute
{
    public override string Skip
    {
        get => base.Skip ?? Promtool.SkipReason!;
        set => base.Skip = value;
    }
}
