using System.CommandLine;
using Understudy.Cli;
using Understudy.Cli.Commands;

var root = new RootCommand("Understudy: server replication and fail-over for Linux. Every verb but 'agent', 'id', 'demo', 'job new' and 'job check' "
    + "talks to an agent's management API. Exit codes (docs/cli.md): 0 success; 1 the operation failed or found differences; "
    + "2 error or refused (bad usage, unreachable agent, refused request); 3 timed out; 130 interrupted. Each verb's --help says what its codes mean.");
GlobalOptions.AddTo(root);
root.Subcommands.Add(AgentCommands.Agent());
root.Subcommands.Add(AgentCommands.Id());
root.Subcommands.Add(TrustCommands.Trust());
root.Subcommands.Add(JobCommands.Job());
root.Subcommands.Add(JobCommands.Mirror());
root.Subcommands.Add(JobCommands.Verify());
root.Subcommands.Add(StatusCommands.Status());
root.Subcommands.Add(StatusCommands.Wait());
root.Subcommands.Add(StatusCommands.Events());
root.Subcommands.Add(ReplicationCommands.Stop());
root.Subcommands.Add(ReplicationCommands.Start());
root.Subcommands.Add(ReplicationCommands.Pause());
root.Subcommands.Add(ReplicationCommands.Resume());
root.Subcommands.Add(FailoverCommands.Failover());
root.Subcommands.Add(FailbackCommands.Restore());
root.Subcommands.Add(FailbackCommands.Failback());
root.Subcommands.Add(NotifyCommands.Notify());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(ConsoleCommands.ConsoleUrl());
JobNewCommand.AddTo(root);
JobCheckCommand.AddTo(root);
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var e in parse.Errors)
        Console.Error.WriteLine($"understudy: {e.Message}");
    Console.Error.WriteLine("run 'understudy --help' for usage");
    return ExitCodes.Error;
}
return await parse.InvokeAsync();
