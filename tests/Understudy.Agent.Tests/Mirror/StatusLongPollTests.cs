using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Mirror;

public sealed class StatusLongPollTests
{
    [Fact]
    public async Task JobStatus_AfterTheCurrentCount_AnswersAtTheNextChange()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        await File.WriteAllTextAsync(Path.Combine(pair.SourceData, "a.txt"), "a");
        await pair.ApplyAsync(pair.JobYaml(extra: "replication:\n  enabled: false")); // nothing else changes the job's state
        await pair.WaitMirroredAsync();
        using var http = await ClientAsync(pair.Source);

        var now = await GetAsync(http, "jobs/job1/status");
        long seen = now["changes"]!.GetValue<long>();
        Assert.Equal("in-sync", now["state"]!.GetValue<string>());
        // wait=0: nothing changed, so the answer is the status as it is, with the same count.
        Assert.Equal(seen, (await GetAsync(http, $"jobs/job1/status?after={seen}&wait=0"))["changes"]!.GetValue<long>());

        var poll = GetAsync(http, $"jobs/job1/status?after={seen}&wait=60");
        var started = await PostAsync(http, "jobs/job1/mirror", """{"mode":"different"}""");
        Assert.True(started["changes"]!.GetValue<long>() > seen);
        var changed = await poll.WaitAsync(TimeSpan.FromSeconds(90));
        Assert.True(changed["changes"]!.GetValue<long>() > seen);

        // A count the job has left behind answers at once with the newest status.
        var mirrored = (await pair.Source.CliAsync("mirror", "job1", "--wait", "--timeout", "120")).EnsureOk();
        Assert.Contains("started", mirrored.Stdout, StringComparison.Ordinal);
        var late = await GetAsync(http, $"jobs/job1/status?after={seen}&wait=60").WaitAsync(TimeSpan.FromSeconds(90));
        Assert.Equal("complete", late["mirror"]!["phase"]!.GetValue<string>());
        Assert.Equal(404, (int)(await http.GetAsync(new Uri("jobs/nope/status?after=0", UriKind.Relative))).StatusCode);
    }

    private static async Task<HttpClient> ClientAsync(AgentProcess agent)
    {
        var token = (await File.ReadAllTextAsync(Path.Combine(agent.DataDir, "api-token"))).Trim();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{agent.ApiPort}/api/v1/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private static async Task<JsonNode> GetAsync(HttpClient http, string path) =>
        JsonNode.Parse(await http.GetStringAsync(new Uri(path, UriKind.Relative)))!;

    private static async Task<JsonNode> PostAsync(HttpClient http, string path, string json)
    {
        using var body = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var r = await http.PostAsync(new Uri(path, UriKind.Relative), body);
        r.EnsureSuccessStatusCode();
        return JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
    }
}
