using Understudy.Agent.Peer;
using Understudy.Agent.Tests.Support;
using Understudy.Core.Jobs;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Mirror;

/// <summary>File content read straight into the frame being sent (<see cref="FileContent"/>): it arrives intact,
/// compressed or not, and a file that shrank after it was opened sends nothing of that frame.</summary>
public sealed class FileContentTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly LoopbackPeers _peers = new();
    private PeerConnection? _sender;
    private PeerConnection? _receiver;
    private readonly CancellationTokenSource _cts = new(TimeSpan.FromMinutes(1));

    public async Task InitializeAsync() => (_sender, _receiver) = await _peers.ConnectAsync("receiver", "sender");

    public async Task DisposeAsync()
    {
        await _peers.DisposeAsync();
        _cts.Dispose();
        _dir.Dispose();
    }

    private byte[] WriteFile(string name, int length, bool compressible)
    {
        var data = new byte[length];
        if (compressible)
            data.AsSpan().Fill((byte)'u');
        else
            new Random(length).NextBytes(data);
        File.WriteAllBytes(Path.Combine(_dir.Path, name), data);
        return data;
    }

    private static FileBegin Whole(string name, FileReader reader) =>
        new(RelPath.Parse(name), reader.Stat.Size, new EntryMeta(0x1A4, 0, 0, 0), null, true, default)
        {
            Content = new FileContent(reader, 0, (int)reader.Stat.Size),
        };

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // compressed: the body is staged, then packed
    public async Task InlineAndChunkContent_ArriveAsTheFileHasIt(bool compressed)
    {
        _sender!.Compression = compressed ? Compression.Lz4 : Compression.None;
        bool compressible = compressed;
        var small = WriteFile("small", 40_000, compressible);
        var big = WriteFile("big", 3 * 1024 * 1024 + 17, compressible);
        using var tree = FsTree.Open(_dir.Path, create: false);
        using var smallReader = tree.OpenRead(RelPath.Parse("small"));
        using var bigReader = tree.OpenRead(RelPath.Parse("big"));

        var received = Task.Run(async () =>
        {
            var frames = new List<Message>();
            var chunks = new List<byte[]>();
            for (int i = 0; i < 5; i++)
            {
                using var f = await _receiver!.ReceiveAsync(_cts.Token);
                frames.Add(f!.Message);
                chunks.Add(f.Message switch
                {
                    FileBegin b => b.Inline.ToArray(),
                    FileData d => d.Data.ToArray(),
                    _ => [],
                });
            }
            return (frames, chunks);
        });
        await _sender.SendAsync(Whole("small", smallReader), _cts.Token);
        const int chunk = 1024 * 1024;
        for (long pos = 0; pos < big.Length; pos += chunk)
        {
            int n = (int)Math.Min(chunk, big.Length - pos);
            await _sender.SendAsync(new FileData(pos, default) { Content = new FileContent(bigReader, pos, n) }, _cts.Token);
        }
        var (got, data) = await received;

        var begin = Assert.IsType<FileBegin>(got[0]);
        Assert.Equal(small.Length, begin.Size);
        Assert.Equal(small, data[0]);
        Assert.Equal(big, data.Skip(1).SelectMany(d => d).ToArray());
        Assert.Equal([0L, chunk, 2 * chunk, 3 * chunk], got.Skip(1).Select(m => Assert.IsType<FileData>(m).Offset));
    }

    [Fact]
    public async Task FileThatShrankAfterOpening_ThrowsAndSendsNothingOfThatFrame()
    {
        WriteFile("shrinks", 100_000, compressible: false);
        using var tree = FsTree.Open(_dir.Path, create: false);
        using var reader = tree.OpenRead(RelPath.Parse("shrinks"));
        File.WriteAllBytes(Path.Combine(_dir.Path, "shrinks"), new byte[10]); // truncated in place: same inode, 10 bytes

        await Assert.ThrowsAsync<FileShrankException>(() => _sender!.SendAsync(Whole("shrinks", reader), _cts.Token).AsTask());
        await Assert.ThrowsAsync<FileShrankException>(() =>
            _sender!.SendAsync(new FileData(0, default) { Content = new FileContent(reader, 0, 50_000) }, _cts.Token).AsTask());
        await _sender!.SendAsync(new Ping(42), _cts.Token);

        using var first = await _receiver!.ReceiveAsync(_cts.Token);
        Assert.Equal(42UL, Assert.IsType<Ping>(first!.Message).Nonce);
        Assert.Equal(_sender.BytesSent, _receiver.BytesReceived); // the ping alone
    }
}
