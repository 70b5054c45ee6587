using Microsoft.Extensions.Time.Testing;
using Understudy.Agent.Replication;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>The job link's token bucket, on a fake clock: how long sending takes is counted in fake time, never measured.</summary>
public sealed class BandwidthLimiterTests
{
    private const int Frame = 64 * 1024;

    /// <summary>Sends <paramref name="frames"/> frames, advancing the fake clock 10 ms at a time while a send waits.
    /// Off the test's synchronization context: there the limiter's delay continuation was posted, not run inside
    /// <c>Advance</c>, so under load the loop could advance the clock again before the wait had seen it (a 4 s
    /// send measured 5.08 s of fake time once in CI).</summary>
    private static Task<TimeSpan> SendAsync(BandwidthLimiter limiter, FakeTimeProvider time, int frames, Action<int>? beforeFrame = null) =>
        Task.Run(() => SendCoreAsync(limiter, time, frames, beforeFrame));

    private static async Task<TimeSpan> SendCoreAsync(BandwidthLimiter limiter, FakeTimeProvider time, int frames, Action<int>? beforeFrame)
    {
        var start = time.GetUtcNow();
        for (int i = 0; i < frames; i++)
        {
            beforeFrame?.Invoke(i);
            var wait = limiter.WaitAsync(Frame, CancellationToken.None).AsTask();
            while (!wait.IsCompleted)
            {
                time.Advance(TimeSpan.FromMilliseconds(10));
                await Task.Yield();
            }
            await wait;
        }
        return time.GetUtcNow() - start;
    }

    [Fact]
    public async Task Limit_SpreadsFramesAtTheConfiguredRate()
    {
        var time = new FakeTimeProvider();
        var limiter = new BandwidthLimiter(time) { BytesPerSecond = 1024 * 1024 };
        // 64 frames of 64 KiB = 4 MiB at 1 MiB/s: 4 s of fake time (within one frame's worth and the 10 ms steps).
        var took = await SendAsync(limiter, time, 64);
        Assert.InRange(took.TotalSeconds, 3.9, 4.1);
    }

    [Fact]
    public async Task Unlimited_NeverWaits()
    {
        var time = new FakeTimeProvider();
        var limiter = new BandwidthLimiter(time) { BytesPerSecond = 0 };
        for (int i = 0; i < 1000; i++)
            Assert.True(limiter.WaitAsync(Frame, CancellationToken.None).AsTask().IsCompletedSuccessfully);
        Assert.Equal(TimeSpan.Zero, await SendAsync(limiter, time, 10));
    }

    [Fact]
    public async Task RateChangedWhileSending_TakesEffectAtTheNextFrame()
    {
        var time = new FakeTimeProvider();
        var limiter = new BandwidthLimiter(time) { BytesPerSecond = 512 * 1024 };
        // 16 frames (1 MiB) at 512 KiB/s = 2 s, then 16 more at 2 MiB/s = 0.5 s.
        var took = await SendAsync(limiter, time, 32, i =>
        {
            if (i == 16)
                limiter.BytesPerSecond = 2 * 1024 * 1024;
        });
        Assert.InRange(took.TotalSeconds, 2.35, 2.65);
    }

    [Fact]
    public async Task IdleTime_BanksAtMostAQuarterSecond()
    {
        var time = new FakeTimeProvider();
        var limiter = new BandwidthLimiter(time) { BytesPerSecond = 1024 * 1024 };
        time.Advance(TimeSpan.FromMinutes(10));
        // After a long idle period only 256 KiB (a quarter second) may go out at once: 1 MiB still takes ~0.75 s.
        var took = await SendAsync(limiter, time, 16);
        Assert.InRange(took.TotalSeconds, 0.7, 0.8);
    }
}
