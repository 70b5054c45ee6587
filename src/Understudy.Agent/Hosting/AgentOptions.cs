namespace Understudy.Agent.Hosting;

internal sealed record AgentOptions(string DataDir, string Listen = "0.0.0.0:7420", string Api = "127.0.0.1:7421", string? Name = null);
