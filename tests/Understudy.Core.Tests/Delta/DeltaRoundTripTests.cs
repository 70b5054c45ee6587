using Xunit;
using Understudy.Core.Delta;
using static Understudy.Core.Tests.Delta.DeltaTestKit;

namespace Understudy.Core.Tests.Delta;

public class DeltaRoundTripTests
{
    [Fact]
    public void Identical_files_send_no_literal_and_one_copy()
    {
        var data = Random(3 * 1024 * 1024 + 123, seed: 1);
        var (result, stats, rec) = RoundTrip(data, data);
        Assert.Equal(data, result);
        Assert.Equal(0, stats.LiteralBytes);
        Assert.Single(rec.Copies);
        Assert.True(rec.Completed);
    }

    [Fact]
    public void Insertion_of_100_bytes_in_the_middle_costs_about_100_bytes_plus_under_two_blocks()
    {
        var basis = Random(10 * 1024 * 1024, seed: 2);
        var insert = Random(100, seed: 3);
        int mid = basis.Length / 2 + 777;
        byte[] target = [.. basis.AsSpan(0, mid), .. insert, .. basis.AsSpan(mid)];
        int blockSize = BlockSizing.For(basis.Length);

        var (result, stats, rec) = RoundTrip(basis, target);

        Assert.Equal(target, result);
        Assert.InRange(stats.LiteralBytes, 100, 100 + 2 * blockSize);
        Assert.True(rec.Copies.Count <= 3, $"{rec.Copies.Count} copy instructions");
    }

    [Fact]
    public void Scattered_one_percent_changes_round_trip_and_reuse_most_blocks()
    {
        var basis = Random(4 * 1024 * 1024, seed: 4);
        var target = (byte[])basis.Clone();
        var rng = new Random(5);
        int changes = target.Length / 100 / 64;
        for (int i = 0; i < changes; i++)
            rng.NextBytes(target.AsSpan(rng.Next(target.Length - 64), 64));

        var (result, stats, _) = RoundTrip(basis, target);

        Assert.Equal(target, result);
        int blockSize = BlockSizing.For(basis.Length);
        Assert.True(stats.LiteralBytes <= (long)changes * (blockSize + 64), $"literal {stats.LiteralBytes}");
    }

    [Fact]
    public void Empty_basis_sends_everything_as_literal()
    {
        var target = Random(200_000, seed: 6);
        var (result, stats, rec) = RoundTrip([], target);
        Assert.Equal(target, result);
        Assert.Equal(target.Length, stats.LiteralBytes);
        Assert.Empty(rec.Copies);
        Assert.All(rec.Literals, l => Assert.True(l <= DeltaInstruction.MaxLiteralLength));
    }

    [Fact]
    public void Empty_new_file_produces_only_complete()
    {
        var basis = Random(50_000, seed: 7);
        var (result, stats, rec) = RoundTrip(basis, []);
        Assert.Empty(result);
        Assert.Equal(0, stats.LiteralBytes);
        Assert.Empty(rec.Copies);
        Assert.Empty(rec.Literals);
        Assert.True(rec.Completed);
    }

    [Fact]
    public void Both_empty()
    {
        var (result, _, rec) = RoundTrip([], []);
        Assert.Empty(result);
        Assert.True(rec.Completed);
    }

    [Fact]
    public void New_file_is_a_truncated_basis()
    {
        var basis = Random(1_000_000, seed: 8);
        var target = basis.AsSpan(0, 600_001).ToArray();
        var (result, stats, _) = RoundTrip(basis, target);
        Assert.Equal(target, result);
        Assert.True(stats.LiteralBytes < BlockSizing.For(basis.Length));
    }

    [Fact]
    public void New_file_is_basis_plus_appended_data()
    {
        var basis = Random(1_000_000, seed: 9);
        byte[] target = [.. basis, .. Random(5000, seed: 10)];
        var (result, stats, _) = RoundTrip(basis, target);
        Assert.Equal(target, result);
        Assert.True(stats.LiteralBytes <= 5000 + BlockSizing.For(basis.Length));
    }

    [Fact]
    public void Short_tail_block_is_matched_at_the_end()
    {
        // 10 full blocks + a 300-byte tail; the new file has a changed first block only.
        var basis = Random(10 * 1024 + 300, seed: 11);
        var target = (byte[])basis.Clone();
        target[5] ^= 0xFF;
        var (result, stats, rec) = RoundTrip(basis, target, blockSize: 1024);
        Assert.Equal(target, result);
        Assert.Equal(1024, stats.LiteralBytes);
        Assert.Equal((1L, 10), rec.Copies.Single());
    }

    [Fact]
    public void Basis_smaller_than_one_block_matches_as_tail()
    {
        var basis = Random(500, seed: 12);
        byte[] target = [.. Random(3000, seed: 13), .. basis];
        var (result, stats, rec) = RoundTrip(basis, target);
        Assert.Equal(target, result);
        Assert.Equal(3000, stats.LiteralBytes);
        Assert.Equal((0L, 1), rec.Copies.Single());
    }

    [Fact]
    public void Moved_blocks_are_found_out_of_order()
    {
        var basis = Random(64 * 1024, seed: 14);
        byte[] target = [.. basis.AsSpan(32 * 1024), .. basis.AsSpan(0, 32 * 1024)];
        var (result, stats, rec) = RoundTrip(basis, target, blockSize: 1024);
        Assert.Equal(target, result);
        Assert.Equal(0, stats.LiteralBytes);
        Assert.Equal([(32L, 32), (0L, 32)], rec.Copies);
    }

    [Fact]
    public void Repetitive_data_round_trips()
    {
        var basis = new byte[300_000];
        var target = new byte[310_000];
        target[150_000] = 1;
        var (result, _, _) = RoundTrip(basis, target, blockSize: 1024);
        Assert.Equal(target, result);
    }

    [Fact]
    public void Random_edits_round_trip_for_many_seeds()
    {
        for (int seed = 0; seed < 60; seed++)
        {
            var rng = new Random(seed);
            var basis = Random(rng.Next(0, 200_000), seed + 1000);
            var target = Mutate(basis, rng);
            int blockSize = rng.Next(BlockSizing.MinAcceptedBlockSize, 4096);
            var (result, _, _) = RoundTrip(basis, target, blockSize);
            Assert.True(target.AsSpan().SequenceEqual(result), $"seed {seed}");
        }
    }

    private static byte[] Mutate(byte[] basis, Random rng)
    {
        var list = new List<byte>(basis);
        int edits = rng.Next(0, 20);
        for (int i = 0; i < edits; i++)
        {
            int at = rng.Next(0, list.Count + 1);
            switch (rng.Next(3))
            {
                case 0:
                    list.InsertRange(at, Random(rng.Next(1, 3000), rng.Next()));
                    break;
                case 1:
                    list.RemoveRange(Math.Min(at, list.Count), Math.Min(rng.Next(1, 3000), list.Count - Math.Min(at, list.Count)));
                    break;
                default:
                    if (at < list.Count)
                        list[at] ^= 0x5A;
                    break;
            }
        }
        return [.. list];
    }
}
