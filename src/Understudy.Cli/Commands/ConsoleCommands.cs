using System.CommandLine;

namespace Understudy.Cli.Commands;

internal static class ConsoleCommands
{
    public static Command ConsoleUrl()
    {
        var cmd = new Command("console-url", "Print the web console's address with the API token, a link that logs a browser in (keep it private)");
        cmd.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            // Ask the agent first, so a wrong address or token fails here rather than in the browser.
            await c.GetAsync("api/v1/agent", Understudy.Core.Api.ApiJson.Default.AgentInfo, ct);
            Console.WriteLine($"{c.BaseUrl.TrimEnd('/')}/?token={Uri.EscapeDataString(c.Token)}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
