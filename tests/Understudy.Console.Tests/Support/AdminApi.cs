using System.Net.Http.Headers;
using Understudy.Testing;

namespace Understudy.Console.Tests.Support;

/// <summary>One real agent ("alpha") and an HTTP client that calls its API as the admin (its token in the header): the
/// fixture of the tests that check the API itself.</summary>
internal sealed class AdminApi : IAsyncDisposable
{
    private AgentProcess? _agent;
    private HttpClient? _http;

    /// <summary>The test's directory: the agent's data dir is in it, and a test may make its own trees there.</summary>
    public TempDir Dir { get; } = new();

    public async Task<(AgentProcess Agent, HttpClient Http)> StartAsync()
    {
        _agent = new AgentProcess(Dir.Sub("alpha"), "alpha");
        await _agent.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_agent.Url()) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _agent.Token());
        return (_agent, _http);
    }

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (_agent is not null)
            await _agent.DisposeAsync();
        Dir.Dispose();
    }
}
