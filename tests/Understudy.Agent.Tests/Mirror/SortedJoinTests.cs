using Understudy.Agent.Source;
using Understudy.Core.Paths;
using Xunit;

namespace Understudy.Agent.Tests.Mirror;

/// <summary>The mirror's comparison of the source's walk with the target's manifest, a path at a time
/// (<see cref="SortedJoin"/>): the same pairs as looking each path up in a listing held whole, and a refusal of
/// anything out of order, which would otherwise turn an entry both sides have into an orphan plus a new entry.</summary>
public sealed class SortedJoinTests
{
    private sealed record Item(RelPath Path, string Side);

    private static List<Joined<Item, Item>> Join(IEnumerable<string> source, IEnumerable<string> target) =>
        SortedJoin.JoinAsync(
                SortedJoin.InLine(source.Select(p => new Item(RelPath.Parse(p), "s"))), i => i.Path,
                SortedJoin.InLine(target.Select(p => new Item(RelPath.Parse(p), "t"))), i => i.Path)
            .ToBlockingEnumerable().ToList();

    private static string Show(Joined<Item, Item> j) =>
        (j.Source, j.Target) switch
        {
            ({ } s, { } t) => $"both {s.Path}" + (s.Path == t.Path ? "" : " MISMATCH"),
            ({ } s, null) => $"source {s.Path}",
            (null, { } t) => $"target {t.Path}",
            _ => "none",
        };

    [Fact]
    public void PairsByPath_InWalkOrder()
    {
        // '/' sorts before every other byte: a directory's subtree comes before a sibling that extends its name.
        var joined = Join(["a", "a/x", "a-b", "c", "c/d"], ["a", "a/y", "a-b", "b", "c"]);
        Assert.Equal(
            ["both a", "source a/x", "target a/y", "both a-b", "target b", "both c", "source c/d"],
            joined.Select(Show));
    }

    [Fact]
    public void EitherSideEmpty()
    {
        Assert.Equal(["source a", "source b"], Join(["a", "b"], []).Select(Show));
        Assert.Equal(["target a", "target a/b"], Join([], ["a", "a/b"]).Select(Show));
        Assert.Empty(Join([], []));
    }

    /// <summary>Against the comparison it replaced: a dictionary of the target's listing, looked up per walked path,
    /// and what is left in it the orphans.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void SameAsLookingUpAWholeListing(int seed)
    {
        var rnd = new Random(seed);
        var all = new SortedSet<RelPath>();
        string[] names = ["a", "a-b", "b", "b.c", "z", "\u00e9", "a b"];
        for (int i = 0; i < 300; i++)
        {
            int depth = rnd.Next(1, 4);
            var p = RelPath.Root;
            for (int d = 0; d < depth; d++)
            {
                p = p.Append(System.Text.Encoding.UTF8.GetBytes(names[rnd.Next(names.Length)]));
                all.Add(p);
            }
        }
        var source = all.Where(_ => rnd.Next(3) > 0).Select(p => p.ToString()).ToList();
        var target = all.Where(_ => rnd.Next(3) > 0).Select(p => p.ToString()).ToList();

        var joined = Join(source, target);

        var listing = target.ToHashSet();
        var expectedBoth = source.Where(listing.Contains).ToList();
        var expectedSourceOnly = source.Where(p => !listing.Contains(p)).ToList();
        var expectedOrphans = target.Except(source).ToList();
        Assert.All(joined, j => Assert.DoesNotContain("MISMATCH", Show(j)));
        Assert.Equal(expectedBoth, joined.Where(j => j.Source is not null && j.Target is not null).Select(j => j.Source!.Path.ToString()));
        Assert.Equal(expectedSourceOnly, joined.Where(j => j.Target is null).Select(j => j.Source!.Path.ToString()));
        Assert.Equal(expectedOrphans, joined.Where(j => j.Source is null).Select(j => j.Target!.Path.ToString()));
        var paths = joined.Select(j => (j.Source ?? j.Target)!.Path).ToList();
        Assert.Equal(paths.Order(), paths);
    }

    [Theory]
    [InlineData("source")]
    [InlineData("target")]
    public void OutOfOrder_Throws(string side)
    {
        string[] sorted = ["a", "b"];
        string[] unsorted = ["a", "c", "b"];
        var ex = Assert.Throws<InvalidDataException>(() => side == "source" ? Join(unsorted, sorted) : Join(sorted, unsorted));
        Assert.Contains($"the {side} listing is not in path order", ex.Message);
        // A name sorted by its bytes but not with '/' first: "a-b" before "a/x" is not the walk's order.
        Assert.Throws<InvalidDataException>(() => Join(["a", "a-b", "a/x"], []));
    }

    [Fact]
    public void SamePathTwice_Throws() =>
        Assert.Throws<InvalidDataException>(() => Join(["a", "b"], ["a", "a"]));

    [Fact]
    public async Task Ahead_YieldsAll_AndPassesTheProducersException()
    {
        var (items, producer) = SortedJoin.Ahead(Enumerable.Range(0, 10_000), 16, CancellationToken.None);
        Assert.Equal(Enumerable.Range(0, 10_000), await items.ToListAsync());
        await producer;

        static IEnumerable<int> Failing()
        {
            yield return 1;
            throw new InvalidOperationException("walk failed");
        }
        (items, producer) = SortedJoin.Ahead(Failing(), 16, CancellationToken.None);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () => await items.ToListAsync());
        Assert.Equal("walk failed", ex.Message);
        await producer;
    }

    [Fact]
    public async Task Ahead_Cancelled_EndsTheProducerThatWaitsForRoom()
    {
        using var cts = new CancellationTokenSource();
        var (_, producer) = SortedJoin.Ahead(Enumerable.Range(0, 1_000_000), 4, cts.Token);
        cts.Cancel();
        await producer.WaitAsync(TimeSpan.FromMinutes(1));
    }
}
