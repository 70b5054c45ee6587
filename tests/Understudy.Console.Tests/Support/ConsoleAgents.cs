using Understudy.Testing;

namespace Understudy.Console.Tests.Support;

internal static class ConsoleAgents
{
    public static string Url(this AgentProcess a) => $"http://127.0.0.1:{a.ApiPort}";

    public static string Token(this AgentProcess a) => File.ReadAllText(Path.Combine(a.DataDir, "api-token")).Trim();

    /// <summary>The login link `understudy console-url` prints for this agent.</summary>
    public static async Task<string> ConsoleUrlAsync(this AgentProcess a) => (await a.CliAsync("console-url")).EnsureOk().Stdout.Trim();
}
