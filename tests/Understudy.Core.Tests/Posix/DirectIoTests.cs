using Understudy.Core.Posix;
using Xunit;
using static Understudy.Core.Tests.Posix.TempTree;

namespace Understudy.Core.Tests.Posix;

/// <summary>A temp file written with O_DIRECT through the aligned buffer ends with exactly the bytes a
/// buffered write gives, whatever the offsets: contiguous runs of odd sizes, holes, runs that start
/// or stop off a block boundary, writes out of order. Where the file system refuses O_DIRECT
/// (TryUseDirectIo false) the same writes go through the page cache and must match too.</summary>
public sealed class DirectIoTests
{
    private const int Block = AlignedBuffer.Alignment;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void RandomWrites_EndAsTheModelSays(int seed)
    {
        var rnd = new Random(seed);
        long size = rnd.Next(1, 12 * 1024 * 1024);
        var model = new byte[size];
        var writes = new List<(long Offset, byte[] Data)>();
        long pos = 0;
        while (pos < size)
        {
            int len = (int)Math.Min(size - pos, rnd.Next(3) switch { 0 => rnd.Next(1, 5000), 1 => 1024 * 1024, _ => rnd.Next(1, 3 * 1024 * 1024) });
            var data = new byte[len];
            rnd.NextBytes(data);
            writes.Add((pos, data));
            pos += len;
            // Sometimes a hole: aligned (as extents are) or not.
            if (rnd.Next(4) == 0)
                pos += rnd.Next(2) == 0 ? Block * rnd.Next(1, 300) : rnd.Next(1, 9000);
        }
        // Sometimes out of order.
        if (seed % 2 == 0)
            (writes[0], writes[^1]) = (writes[^1], writes[0]);
        foreach (var (off, data) in writes)
        {
            int n = (int)Math.Min(data.Length, size - off);
            if (n > 0)
                data.AsSpan(0, n).CopyTo(model.AsSpan((int)off));
        }

        var bytes = WriteDirect(size, writes.Select(w => (w.Offset, (ReadOnlyMemory<byte>)w.Data.AsMemory(0, (int)Math.Max(0, Math.Min(w.Data.Length, size - w.Offset))))));

        Assert.Equal(size, bytes.LongLength);
        Assert.True(model.AsSpan().SequenceEqual(bytes), "content differs from the model");
    }

    [Fact]
    public void ExactBufferMultiple_AndUnalignedTail_AtTheEnd()
    {
        foreach (long size in new long[] { 4L * 1024 * 1024, 8L * 1024 * 1024 + 1, 2 * Block - 1, 5 * 1024 * 1024 + 3 * Block })
        {
            var data = new byte[size];
            new Random((int)size).NextBytes(data);
            var chunks = new List<(long, ReadOnlyMemory<byte>)>();
            for (long p = 0; p < size; p += 1024 * 1024)
                chunks.Add((p, data.AsMemory((int)p, (int)Math.Min(1024 * 1024, size - p))));
            Assert.True(data.AsSpan().SequenceEqual(WriteDirect(size, chunks)), $"size {size}");
        }
    }

    [Fact]
    public void UnalignedStart_FallsBackAndStaysCorrect()
    {
        var data = new byte[3 * 1024 * 1024];
        new Random(7).NextBytes(data);
        long size = data.Length + 100;
        var bytes = WriteDirect(size, [(100, data)]);
        Assert.True(bytes.AsSpan(0, 100).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(data.AsSpan().SequenceEqual(bytes.AsSpan(100)));
    }

    [Fact]
    public void AlignedHoles_StaySparse()
    {
        long size = 64L * 1024 * 1024;
        var head = new byte[2 * 1024 * 1024];
        var tail = new byte[1024 * 1024 + 17];
        new Random(3).NextBytes(head);
        new Random(4).NextBytes(tail);
        using var t = new TempTree();
        bool direct = Write(t, size, [(0, head), (size - tail.Length - 5 * Block + 17, tail)]);
        using var reader = t.Tree.OpenRead(P("f"));
        Assert.Equal(size, reader.Stat.Size);
        // 3 MiB of data in a 64 MiB file: the data extents cover far less than its size (the hole
        // was kept), direct or not.
        long data = reader.DataExtents().Sum(e => e.Length);
        Assert.True(data < 16L * 1024 * 1024, $"{data} bytes of data extents, direct {direct}");
    }

    [Fact]
    public void DataAlignedInMemory_IsWrittenFromWhereItIs_AndMixesWithBufferedRuns()
    {
        // As the target receives big files: whole aligned chunks in aligned memory (written from there),
        // between them runs in ordinary memory and an unaligned tail (through the aligned buffer).
        const int chunk = 1024 * 1024 - Block;
        using var source = new AlignedBuffer(4 * 1024 * 1024);
        new Random(11).NextBytes(source.Span);
        var plain = new byte[3 * Block + 123];
        new Random(12).NextBytes(plain);
        var layout = new (long Offset, bool Aligned, int Length)[]
        {
            (0, true, chunk), (chunk, true, chunk), (2L * chunk, false, 2 * Block), (2L * chunk + 2 * Block, true, chunk),
            (3L * chunk + 2 * Block, false, plain.Length),
        };
        long size = layout[^1].Offset + layout[^1].Length;
        var model = new byte[size];
        using var t = new TempTree();
        using var buffer = new AlignedBuffer(4 * 1024 * 1024);
        using (var temp = t.Tree.CreateTemp(P("f")))
        {
            temp.SetLength(size);
            temp.TryUseDirectIo(buffer, size); // where O_DIRECT is refused, the same writes go buffered
            foreach (var (off, aligned, len) in layout)
            {
                ReadOnlySpan<byte> data = aligned ? source.Span[..len] : plain.AsSpan(0, len);
                data.CopyTo(model.AsSpan((int)off));
                temp.Write(data, off);
            }
            temp.CompleteWrites();
            temp.Commit();
        }
        Assert.True(model.AsSpan().SequenceEqual(File.ReadAllBytes(System.IO.Path.Combine(t.Path, "f"))), "content differs from the model");
    }

    private static byte[] WriteDirect(long size, IEnumerable<(long Offset, ReadOnlyMemory<byte> Data)> writes)
    {
        using var t = new TempTree();
        Write(t, size, writes);
        return File.ReadAllBytes(System.IO.Path.Combine(t.Path, "f"));
    }

    private static bool Write(TempTree t, long size, IEnumerable<(long Offset, ReadOnlyMemory<byte> Data)> writes)
    {
        using var buffer = new AlignedBuffer(4 * 1024 * 1024);
        using var temp = t.Tree.CreateTemp(P("f"));
        temp.SetLength(size);
        bool direct = temp.TryUseDirectIo(buffer, size);
        foreach (var (off, data) in writes)
            temp.Write(data.Span, off);
        temp.CompleteWrites();
        Assert.False(temp.DirectIo);
        temp.Commit();
        return direct;
    }
}
