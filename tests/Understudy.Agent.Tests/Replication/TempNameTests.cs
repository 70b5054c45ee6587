using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>The product's temporary files never share a name space with user data.</summary>
public sealed class TempNameTests
{
    [Fact]
    public async Task UserFilesNamedLikeTemporaries_AreReplicated_KeptAcrossSessions_AndVerifyClean()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        string T(string p) => Path.Combine(pair.TargetData, p);
        Directory.CreateDirectory(S("d/.ustd~dir"));
        File.WriteAllText(S(".ustd~x"), "mine");
        File.WriteAllText(S("d/.ustd~0123456789abcdef"), "exactly a temporary's shape");
        File.WriteAllText(S("d/.ustd~dir/inner"), "inner");
        await pair.ApplyAsync(pair.JobYaml(orphans: "delete"));
        await pair.WaitMirroredAsync();
        await ReplicationTests.WaitIdleAsync(pair);
        File.WriteAllText(S("d/.ustd~new"), "replicated"); // and through replication
        await ReplicationTests.WaitIdleAsync(pair);

        foreach (var (p, content) in new[] { (".ustd~x", "mine"), ("d/.ustd~0123456789abcdef", "exactly a temporary's shape"), ("d/.ustd~dir/inner", "inner"), ("d/.ustd~new", "replicated") })
            Assert.Equal(content, File.ReadAllText(T(p)));
        await ReplicationTests.AssertVerifiedAsync(pair);

        // A new session (the target restarted) cleans up temporaries: not these.
        await pair.Target.StopAsync();
        await pair.Target.StartAsync();
        await ReplicationTests.WaitIdleAsync(pair);
        File.WriteAllText(S("after-restart"), "x");
        await ReplicationTests.WaitIdleAsync(pair);
        Assert.Equal("x", File.ReadAllText(T("after-restart")));
        Assert.Equal("mine", File.ReadAllText(T(".ustd~x")));
        Assert.Equal("inner", File.ReadAllText(T("d/.ustd~dir/inner")));
        await ReplicationTests.AssertVerifiedAsync(pair);
    }
}
