using System.CommandLine;

namespace Understudy.Cli;

/// <summary>Options every verb accepts: how to find the agent.</summary>
internal static class GlobalOptions
{
    public static readonly Option<string> DataDir = new("--data-dir")
    {
        Description = "The local agent's data directory (finds its API address and token)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("UNDERSTUDY_DATA_DIR") ?? "/var/lib/understudy",
        Recursive = true,
    };

    public static readonly Option<string?> Api = new("--api")
    {
        Description = "A remote agent's API: https://HOST:PORT, or HOST:PORT (https unless HOST is loopback; the token is never sent over plain HTTP to another machine) (with --token)",
        Recursive = true,
    };

    public static readonly Option<string?> Token = new("--token")
    {
        Description = "API token for --api (or UNDERSTUDY_TOKEN)",
        Recursive = true,
    };

    public static readonly Option<string?> AgentId = new("--agent-id")
    {
        Description = "Pin the remote agent's certificate to this ID when --api is HTTPS",
        Recursive = true,
    };

    public static void AddTo(Command root)
    {
        root.Options.Add(DataDir);
        root.Options.Add(Api);
        root.Options.Add(Token);
        root.Options.Add(AgentId);
    }

    public static ApiClient Client(ParseResult r) =>
        ApiClient.Resolve(r.GetValue(Api), r.GetValue(Token), r.GetValue(DataDir)!, r.GetValue(AgentId));

    /// <summary>Runs a client action, turning CLI errors into a message and an exit code scripts can rely on.</summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Run(Func<ParseResult, ApiClient, CancellationToken, Task<int>> action) =>
        async (r, ct) =>
        {
            try
            {
                using var client = Client(r);
                return await action(r, client, ct);
            }
            catch (CliException e)
            {
                Console.Error.WriteLine($"understudy: {TerminalText.Safe(e.Message)}");
                return e.ExitCode;
            }
            catch (OperationCanceledException)
            {
                return 130;
            }
        };
}
