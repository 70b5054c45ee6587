using System.Globalization;
using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.Agent.Tests.Replication.Faults;

[Collection(nameof(ReplicationFaultsCollection))]
public sealed class RenameStormTests(ITestOutputHelper output)
{
    private const int Files = 150;
    private const int Rounds = 21; // odd: every file ends under its other name
    private const int FileSize = 32 * 1024;

    /// <summary>
    /// Thousands of renames of the same files back and forth, within a directory and across directories,
    /// and of a directory holding some of them. Renames must travel as renames: on the target each file
    /// keeps the inode the mirror gave it (a re-sent file would be a new temp file renamed into place).
    /// </summary>
    [Fact]
    public async Task RenameStorm_ThousandsOfRenames_ConvergesWithoutResendingContent()
    {
        await using var rig = await ReplicationRig.StartAsync(output);
        var rng = new Random(3004);
        foreach (var d in new[] { "a", "b", "moving" })
            Directory.CreateDirectory(Path.Combine(rig.SourceData, d));
        for (int i = 0; i < Files; i++)
        {
            var content = new byte[FileSize];
            rng.NextBytes(content);
            await File.WriteAllBytesAsync(Path.Combine(rig.SourceData, Home(i)), content);
        }
        await rig.ApplyJobAsync();
        await rig.WaitMirroredAsync();
        await rig.AssertConvergedAsync();
        var inodes = Enumerable.Range(0, Files).Select(i => TargetInode(rig, Home(i))).ToArray();
        long? sentBefore = BytesSent(await rig.StatusAsync());
        long eventsBefore = await rig.LastEventIdAsync();

        for (int round = 0; round < Rounds; round++)
        {
            for (int i = 0; i < Files; i++)
            {
                var (from, to) = round % 2 == 0 ? (Home(i), Away(i)) : (Away(i), Home(i));
                // moving/ itself is called moved/ after every odd number of rounds.
                if (round % 2 == 1 && from.StartsWith("moving/", StringComparison.Ordinal))
                    (from, to) = ("moved/" + from["moving/".Length..], "moved/" + to["moving/".Length..]);
                ChurnLibc.Rename(Path.Combine(rig.SourceData, from), Path.Combine(rig.SourceData, to));
            }
            // The directory holding a third of the files moves too, each round, back and forth.
            var (dirFrom, dirTo) = round % 2 == 0 ? ("moving", "moved") : ("moved", "moving");
            ChurnLibc.Rename(Path.Combine(rig.SourceData, dirFrom), Path.Combine(rig.SourceData, dirTo));
        }
        output.WriteLine($"{Rounds * (Files + 1)} renames");

        await rig.AssertConvergedAsync();
        // The kernel may merge identical rename events of a storm; the watcher then reports an overflow and a
        // catch-up difference mirror runs while the renames go on (issue 3: overflow degrades to a difference
        // mirror, never to loss). It matches the target by path, so a file that moved while it walked is sent
        // again under its new name: all of moving/ when the directory moved mid-walk, the a/ <-> b/ files caught
        // between two listings. Under CPU load that was 18-78 of the 150 files, before and after the target's
        // parallel writes (a tenth, the bound here until 2026-12-03, failed 2-4 runs in 6 with both cores
        // busy). So after an overflow only convergence (above) and no error event are required and the re-sends
        // are reported; without one every file must keep its inode. Open (docs/architecture.md): match by inode.
        bool overflowed = (await rig.EventsAsync()).Any(e => ReplicationRig.Id(e) > eventsBefore && e.Code() == EventCode.CaptureLost);
        var resent = Enumerable.Range(0, Files).Where(i => TargetInode(rig, Away(i)) != inodes[i]).Select(Away).ToList();
        var status = await rig.StatusAsync();
        long? sent = sentBefore is { } before && BytesSent(status) is { } after ? after - before : null;
        if (overflowed)
        {
            output.WriteLine($"overflow: {resent.Count} of {Files} files sent again by the catch-up mirror, {sent?.ToString(CultureInfo.InvariantCulture) ?? "?"} bytes sent");
        }
        else
        {
            Assert.True(resent.Count == 0, $"{string.Join(", ", resent)} on the target are new files: their content was sent again instead of renamed");
            if (sent is { } bytes)
                Assert.True(bytes < Files * FileSize / 10, $"{bytes} bytes sent for renames of {Files * FileSize} bytes of files");
            else
                output.WriteLine($"status shows no bytes-sent counter under replication (looked for bytesSent): {status.ToJsonString()}");
        }
        await rig.AssertNoErrorEventsAsync();
    }

    // File i lives in a/, b/ or moving/ by i % 3; "away" is another name: across directories for a/ ↔ b/, in place for moving/.
    private static string Home(int i) => (i % 3) switch
    {
        0 => $"a/f{i.ToString(CultureInfo.InvariantCulture)}",
        1 => $"b/f{i.ToString(CultureInfo.InvariantCulture)}",
        _ => $"moving/f{i.ToString(CultureInfo.InvariantCulture)}",
    };

    // After an odd number of rounds the directory moving/ is called moved/.
    private static string Away(int i) => (i % 3) switch
    {
        0 => $"b/g{i.ToString(CultureInfo.InvariantCulture)}",
        1 => $"a/g{i.ToString(CultureInfo.InvariantCulture)}",
        _ => $"moving/g{i.ToString(CultureInfo.InvariantCulture)}",
    };

    private static ulong TargetInode(ReplicationRig rig, string rel)
    {
        // The last rename of moving/ leaves it as moved/ (Rounds is odd).
        rel = rel.StartsWith("moving/", StringComparison.Ordinal) && File.Exists(Path.Combine(rig.TargetData, "moved", rel["moving/".Length..]))
            ? "moved/" + rel["moving/".Length..]
            : rel;
        using var t = FsTree.Open(rig.TargetData, create: false);
        return t.Lstat(RelPath.Parse(rel))?.Inode ?? throw new Xunit.Sdk.XunitException($"{rel} is missing on the target");
    }

    /// <summary>The replication's bytes-sent counter in the status JSON, when the agent shows one.</summary>
    internal static long? BytesSent(JsonNode status) =>
        status["replication"]?["bytesSent"] is JsonValue v && v.TryGetValue(out long n) ? n : null;
}
