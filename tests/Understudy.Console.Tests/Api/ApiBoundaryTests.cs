using System.Net;
using System.Net.Http.Headers;
using Understudy.Console.Tests.Support;
using Understudy.Testing;
using Xunit;

namespace Understudy.Console.Tests.Api;

/// <summary>
/// What a client that is not the admin's can do with the API (issue 19, item 7): the token only in the header but on the
/// event stream, and only under a Host name the agent answers to (DNS rebinding), against a real agent.
/// </summary>
public sealed class ApiBoundaryTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private AgentProcess _agent = null!;

    public async Task InitializeAsync()
    {
        _agent = new AgentProcess(_dir.Sub("alpha"), "alpha");
        _agent.ExtraArgs.AddRange(["--api-allowed-host", "console.example.org"]);
        await _agent.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>A token in a URL ends up in logs and histories: only EventSource, which cannot send a header, may use it.</summary>
    [Fact]
    public async Task QueryToken_OnlyOpensTheEventStream()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_agent.Url()) };
        var q = "token=" + Uri.EscapeDataString(_agent.Token());
        using (var status = await http.GetAsync($"/api/v1/status?{q}"))
            Assert.Equal(HttpStatusCode.Unauthorized, status.StatusCode);
        using (var agent = await http.GetAsync($"/api/v1/agent?{q}"))
            Assert.Equal(HttpStatusCode.Unauthorized, agent.StatusCode);
        using (var trust = await http.PostAsync($"/api/v1/trust?{q}", new StringContent("""{"id":"00"}""", System.Text.Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.Unauthorized, trust.StatusCode);
        // Not with another method on the stream's path either.
        using (var post = await http.PostAsync($"/api/v1/events/stream?{q}", new StringContent("{}")))
            Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);

        using var stream = await http.GetAsync($"/api/v1/events/stream?{q}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        // The header still works everywhere.
        using var req = new HttpRequestMessage(HttpMethod.Get, "/api/v1/status");
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _agent.Token());
        using var ok = await http.SendAsync(req);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    /// <summary>A page of evil.example whose name was re-pointed at 127.0.0.1 sends Host: evil.example; the agent must not answer it.</summary>
    [Fact]
    public async Task ForeignHostHeader_IsRefused_OwnAndConfiguredNamesAnswer()
    {
        using var http = new HttpClient();
        async Task<HttpStatusCode> Get(string path, string host, bool token)
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, _agent.Url() + path);
            req.Headers.Host = host;
            if (token)
                req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _agent.Token());
            using var resp = await http.SendAsync(req);
            return resp.StatusCode;
        }
        var port = _agent.ApiPort;
        Assert.Equal(HttpStatusCode.MisdirectedRequest, await Get("/", $"evil.example:{port}", token: false));
        Assert.Equal(HttpStatusCode.MisdirectedRequest, await Get("/api/v1/health", $"evil.example:{port}", token: false));
        Assert.Equal(HttpStatusCode.MisdirectedRequest, await Get("/api/v1/status", "evil.example", token: true));
        foreach (var host in new[] { $"127.0.0.1:{port}", $"localhost:{port}", $"[::1]:{port}", $"console.example.org:{port}", $"CONSOLE.example.org", $"{Environment.MachineName}:{port}" })
            Assert.Equal(HttpStatusCode.OK, await Get("/api/v1/status", host, token: true));
    }
}
