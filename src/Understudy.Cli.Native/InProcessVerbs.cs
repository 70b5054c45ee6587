using System.CommandLine;

// The actions of the verbs the managed program runs (its InProcess/ folder): here, each is the managed program itself.
namespace Understudy.Cli.Commands;

internal static partial class AgentCommands
{
    private static partial Func<ParseResult, CancellationToken, Task<int>> RunAgent(AgentFlags f) => ManagedProgram.Action;

    private static partial Func<ParseResult, CancellationToken, Task<int>> RunId() => ManagedProgram.Action;
}

internal static partial class DemoCommand
{
    private static partial Func<ParseResult, CancellationToken, Task<int>> Run(DemoFlags f) => ManagedProgram.Action;
}

internal static partial class JobNewCommand
{
    private static partial Func<ParseResult, CancellationToken, Task<int>> Run(Flags f) => ManagedProgram.Action;
}

internal static partial class JobCheckCommand
{
    private static partial Func<ParseResult, CancellationToken, Task<int>> Run(Argument<string[]> files, Option<bool> quiet) => ManagedProgram.Action;
}
