using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Understudy.Agent.Tests.Support;
using Xunit;

namespace Understudy.Agent.Tests.Mirror;

public sealed class UnreadableSourceTests
{
    /// <summary>
    /// Entries the mirror cannot copy as files (a FIFO would block a reader forever, a socket cannot
    /// be opened) become events and are skipped; everything else is mirrored and the job completes.
    /// (Unreadable permissions cannot be staged as root, which reads anything.)
    /// </summary>
    [Fact]
    public async Task Mirror_SourceEntriesThatCannotBeRead_AreEventsAndSkipped_MirrorGoesOn()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "a");
        Directory.CreateDirectory(Path.Combine(pair.SourceData, "b"));
        File.WriteAllText(Path.Combine(pair.SourceData, "b/c.txt"), "c");
        File.WriteAllText(Path.Combine(pair.SourceData, "z-after.txt"), "after the odd entries");
        using (var p = Process.Start("mkfifo", [Path.Combine(pair.SourceData, "b/pipe")]))
        {
            await p.WaitForExitAsync();
            Assert.Equal(0, p.ExitCode);
        }
        // Kept open for the whole test: .NET unlinks a bound socket's file when the socket is disposed.
        using var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        sock.Bind(new UnixDomainSocketEndPoint(Path.Combine(pair.SourceData, "sock")));

        await pair.ApplyAsync(pair.JobYaml());
        await pair.WaitMirroredAsync();

        Assert.Equal("a", File.ReadAllText(Path.Combine(pair.TargetData, "a.txt")));
        Assert.Equal("c", File.ReadAllText(Path.Combine(pair.TargetData, "b/c.txt")));
        Assert.Equal("after the odd entries", File.ReadAllText(Path.Combine(pair.TargetData, "z-after.txt")));
        Assert.False(Path.Exists(Path.Combine(pair.TargetData, "b/pipe")));
        Assert.False(Path.Exists(Path.Combine(pair.TargetData, "sock")));

        var job = await pair.Source.StatusAsync("job1"); // `status NAME --json`: that job's object
        Assert.Equal("in-sync", job["state"]!.GetValue<string>());
        Assert.True(job["mirror"]!["skipped"]!.GetValue<long>() >= 2, job.ToJsonString());

        var events = (await pair.Source.CliAsync("events", "--job", "job1", "--json", "--limit", "1000")).EnsureOk().Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Contains(events, e => e["severity"]!.GetValue<string>() == "warning" && e["message"]!.GetValue<string>().StartsWith("skipped b/pipe", StringComparison.Ordinal));
        Assert.Contains(events, e => e["message"]!.GetValue<string>().StartsWith("skipped sock", StringComparison.Ordinal));
        Assert.Contains(events, e => e["message"]!.GetValue<string>().StartsWith("mirror complete", StringComparison.Ordinal));
    }
}
