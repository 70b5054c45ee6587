using CsCheck;
using Understudy.Core.Tests.WriteOrder.Support;
using Understudy.Core.WriteOrder;
using Xunit;

namespace Understudy.Core.Tests.WriteOrder;

/// <summary>The publishing logic against generated streams (<see cref="StreamModel"/>): a crash before any command,
/// and another during the redo, then recovery, gives the same tree as one uninterrupted apply; a point that was
/// not fully received is never applied and leaves nothing behind.</summary>
public sealed class PointJournalModelTests
{
    private static string Fresh(string parent, string name)
    {
        string dir = Path.Combine(parent, name);
        StreamModel.MakeBase(dir);
        return dir;
    }

    [Fact]
    public void CrashAtAnyCommand_ThenRecover_EqualsUninterruptedApply()
    {
        Gen.Select(Gen.Int[0, int.MaxValue], Gen.Int[1, 60], Gen.Int[0, 10_000], Gen.Int[0, 10_000]).Sample((seed, ops, k1, k2) =>
        {
            var tmp = Directory.CreateTempSubdirectory("understudy-wo-model-").FullName;
            try
            {
                var stream = new StreamModel(seed).Generate(ops);
                int count = Count(stream);

                string a = Fresh(tmp, "a");
                var ja = PointJournal.Create(Path.Combine(tmp, "ja"), 0);
                ja.ReceiveAsync(1, new MemoryStream(stream), CancellationToken.None).GetAwaiter().GetResult();
                using (var ap = new PointApplier(a))
                    ja.ApplyPending(ap);

                string b = Fresh(tmp, "b");
                string jdir = Path.Combine(tmp, "jb");
                var jb = PointJournal.Create(jdir, 0);
                jb.ReceiveAsync(1, new MemoryStream(stream), CancellationToken.None).GetAwaiter().GetResult();
                int crash1 = 1 + k1 % (count - 2); // between the Snapshot command (0) and the End (count - 1)
                CrashAt(jdir, b, crash1, first: jb);
                var afterFirst = PointJournal.Open(jdir).State;
                Assert.True(afterFirst.Pending, "a crashed apply must leave the point pending");
                int crash2 = afterFirst.Next + k2 % Math.Max(1, count - afterFirst.Next);
                CrashAt(jdir, b, crash2, first: null);
                using (var bp = new PointApplier(b))
                    Assert.Equal(1, PointJournal.Recover(jdir, bp).State.Applied);

                var diff = TreeImage.Diff(TreeImage.Take(a), TreeImage.Take(b)).Take(8).ToList();
                Assert.True(diff.Count == 0, $"seed {seed}, {ops} ops, crashes before {crash1} then {crash2} of {count}:\n" + string.Join('\n', diff));
                Assert.Empty(Directory.GetFiles(jdir, "*.stream"));
            }
            finally
            {
                Directory.Delete(tmp, recursive: true);
            }
        }, iter: 60);
    }

    /// <summary>Applies (or recovers) with a crash thrown before command <paramref name="k"/>; a crash index the apply
    /// never reaches simply completes it.</summary>
    private static void CrashAt(string jdir, string tree, int k, PointJournal? first)
    {
        var j = first ?? PointJournal.Open(jdir);
        using var ap = new PointApplier(tree) { BeforeCommand = i => { if (i == k) throw new SimulatedCrash(); } };
        try
        {
            j.ApplyPending(ap);
        }
        catch (SimulatedCrash)
        {
        }
    }

    [Fact]
    public void PointNotFullyReceived_IsNeverApplied()
    {
        Gen.Select(Gen.Int[0, int.MaxValue], Gen.Int[1, 40], Gen.Double[0, 1]).Sample((seed, ops, at) =>
        {
            var tmp = Directory.CreateTempSubdirectory("understudy-wo-model-").FullName;
            try
            {
                var stream = new StreamModel(seed).Generate(ops);
                var cut = stream[..(int)(at * (stream.Length - 1))];
                string tree = Fresh(tmp, "t");
                var before = TreeImage.Take(tree);
                string jdir = Path.Combine(tmp, "j");
                var j = PointJournal.Create(jdir, 0);
                Assert.Throws<InvalidSendStreamException>(() => j.ReceiveAsync(1, new MemoryStream(cut), CancellationToken.None).GetAwaiter().GetResult());
                // A receiver killed mid-stream leaves its .part behind: start-up drops it.
                File.WriteAllBytes(Path.Combine(jdir, "1.part"), cut);
                using (var ap = new PointApplier(tree))
                {
                    var r = PointJournal.Recover(jdir, ap);
                    Assert.Equal(new PointState(0, 0, 0), r.State);
                }
                Assert.Empty(Directory.GetFiles(jdir, "1.*"));
                Assert.Empty(TreeImage.Diff(before, TreeImage.Take(tree)));
            }
            finally
            {
                Directory.Delete(tmp, recursive: true);
            }
        }, iter: 40);
    }

    private static int Count(byte[] stream)
    {
        var r = new SendStreamReader(new MemoryStream(stream));
        r.ReadHeader();
        int n = 0;
        while (r.ReadCommand() is not null)
            n++;
        return n;
    }
}
