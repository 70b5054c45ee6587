using System.Text;
using Understudy.Agent.Hosting;
using Xunit;

namespace Understudy.Agent.Tests.Hosting;

public sealed class AgentRuntimeTests
{
    [Fact]
    public void SplitNul_ProcList_GivesEachStringWithoutTerminators()
    {
        var items = AgentRuntime.SplitNul("dotnet\0understudy.dll\0agent\0\0--name\0"u8);
        Assert.Equal(["dotnet", "understudy.dll", "agent", "", "--name"], items.Select(i => Encoding.UTF8.GetString(i)));
        Assert.Empty(AgentRuntime.SplitNul([]));
        Assert.Equal(["x"], AgentRuntime.SplitNul("x"u8).Select(i => Encoding.UTF8.GetString(i)));
    }

    [Fact]
    public void WithTieringOff_AddsTheVariable_KeepingEveryOtherByteForByte()
    {
        byte[] odd = [(byte)'V', (byte)'=', 0xff, 0xfe]; // not UTF-8: passed on as it is
        var env = AgentRuntime.WithTieringOff([Encoding.ASCII.GetBytes("PATH=/usr/bin"), odd, Encoding.ASCII.GetBytes("DOTNET_gcServer=1")]);
        Assert.NotNull(env);
        Assert.Equal(4, env.Count);
        Assert.Equal(odd, env[1]);
        Assert.Equal("DOTNET_TieredCompilation=0", Encoding.ASCII.GetString(env[^1]));
    }

    [Theory]
    [InlineData("DOTNET_TieredCompilation=1")]
    [InlineData("DOTNET_TieredCompilation=0")]
    [InlineData("COMPlus_TieredCompilation=0")]
    public void WithTieringOff_AlreadySet_NoReexec(string set)
    {
        Assert.Null(AgentRuntime.WithTieringOff([Encoding.ASCII.GetBytes("HOME=/root"), Encoding.ASCII.GetBytes(set)]));
        Assert.NotNull(AgentRuntime.WithTieringOff([Encoding.ASCII.GetBytes("DOTNET_TieredCompilationX=1"), Encoding.ASCII.GetBytes("NOEQUALS")]));
    }
}
