using Understudy.Agent.Tests.Support;
using Understudy.Core.Jobs;
using Understudy.Core.Protocol;
using Xunit;

namespace Understudy.Agent.Tests.Security;

/// <summary>LZ4 is not tried on every frame of data that does not compress, and data that does still travels compressed.</summary>
public sealed class CompressionBackoffTests
{
    private const int FrameBytes = 64 * 1024;

    [Fact]
    public async Task IncompressibleFrames_AreMostlyNotTried_CompressibleOnesAfterThemAreCompressed_AllArriveIntact()
    {
        await using var peers = new LoopbackPeers();
        var (sender, receiver) = await peers.ConnectAsync("receiver", "sender");
        sender.Compression = Compression.Lz4;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        var rng = new Random(7);
        var frames = new List<byte[]>();
        for (int i = 0; i < 200; i++)
        {
            var b = new byte[FrameBytes];
            rng.NextBytes(b);
            frames.Add(b);
        }
        for (int i = 0; i < 100; i++)
            frames.Add(Enumerable.Repeat((byte)(i % 7), FrameBytes).ToArray());

        var received = Task.Run(async () =>
        {
            var got = new List<byte[]>();
            while (got.Count < frames.Count)
            {
                using var f = await receiver.ReceiveAsync(cts.Token);
                got.Add(Assert.IsType<FileData>(f!.Message).Data.ToArray());
            }
            return got;
        });
        long random = 0;
        for (int i = 0; i < frames.Count; i++)
        {
            if (i == 200)
            {
                random = sender.BytesSent;
                Assert.True(sender.CompressionTries <= 20, $"{sender.CompressionTries} compression attempts on 200 random frames");
            }
            await sender.SendAsync(new FileData((long)i * FrameBytes, frames[i]), cts.Token);
        }
        var got = await received;

        for (int i = 0; i < frames.Count; i++)
            Assert.True(frames[i].AsSpan().SequenceEqual(got[i]), $"frame {i} differs");
        long compressible = sender.BytesSent - random;
        // At most one back-off step (16 frames) goes uncompressed before a frame is tried again and compresses.
        Assert.True(compressible < 100L * FrameBytes / 4, $"{compressible} bytes sent for {100 * FrameBytes} bytes of compressible data");
    }
}
