using System.Security.Cryptography;
using System.Text;
using Understudy.Core.Posix;

namespace Understudy.Agent.Tests.Mirror;

/// <summary>
/// Generates a source tree and remembers every file's size and SHA-256, then — while a mirror runs —
/// scans the target tree over and over: any regular file under a real (non-temporary) name must
/// be complete, byte for byte. A partial file seen even once is a violation.
/// </summary>
internal sealed class PartialFileWatch : IAsyncDisposable
{
    private readonly string _targetRoot;
    private readonly Dictionary<string, (long Size, byte[] Hash)> _expected;
    private readonly Dictionary<string, (DateTime, long)> _checked = new(StringComparer.Ordinal);
    private readonly List<string> _violations = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _passes;

    public PartialFileWatch(string targetRoot, Dictionary<string, (long Size, byte[] Hash)> expected)
    {
        _targetRoot = targetRoot;
        _expected = expected;
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    public long Passes => Interlocked.Read(ref _passes);

    public IReadOnlyList<string> Violations
    {
        get
        {
            lock (_violations)
                return [.. _violations];
        }
    }

    /// <summary>Writes <paramref name="small"/> files of 1–64 KiB in nested directories and <paramref name="bigMiB"/>.Length big ones.</summary>
    public static Dictionary<string, (long Size, byte[] Hash)> Generate(string root, int small, int[] bigMiB, int seed = 7)
    {
        var rnd = new Random(seed);
        var files = new Dictionary<string, (long, byte[])>(StringComparer.Ordinal);
        void Write(string rel, int size)
        {
            var data = new byte[size];
            rnd.NextBytes(data);
            var full = Path.Combine(root, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, data);
            files[rel] = (size, SHA256.HashData(data));
        }
        for (int i = 0; i < bigMiB.Length; i++)
            Write($"big/{i:D2}.bin", bigMiB[i] << 20);
        for (int i = 0; i < small; i++)
            Write($"d{i % 17:D2}/sub{i % 3}/f{i:D4}.dat", rnd.Next(1024, 64 * 1024));
        return files;
    }

    /// <summary>Relative paths of regular files under temporary names now in the target tree.</summary>
    public static List<string> TempFiles(string root) =>
        [.. Files(root).Where(f => FsTree.IsTempName(Encoding.UTF8.GetBytes(Path.GetFileName(f)))).Select(f => Path.GetRelativePath(root, f))];

    private static IEnumerable<string> Files(string root)
    {
        if (!Directory.Exists(root))
            return [];
        try
        {
            return Directory.EnumerateFiles(root, "*", new EnumerationOptions
            {
                RecurseSubdirectories = true,
                IgnoreInaccessible = true,
                AttributesToSkip = 0,
                ReturnSpecialDirectories = false,
            }).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return []; // a directory changed under the walk: the next pass sees it
        }
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            foreach (var f in Files(_targetRoot))
            {
                if (ct.IsCancellationRequested)
                    break;
                if (FsTree.IsTempName(Encoding.UTF8.GetBytes(Path.GetFileName(f))))
                    continue;
                Check(f);
            }
            Interlocked.Increment(ref _passes);
            await Task.Yield();
        }
    }

    private void Check(string full)
    {
        var rel = Path.GetRelativePath(_targetRoot, full);
        byte[] data;
        (DateTime, long) stamp;
        try
        {
            // A file checked complete is not read again until its mtime or size changes (the big
            // ones would otherwise starve the scan); the final verify --checksum covers the rest.
            var info = new FileInfo(full);
            stamp = (info.LastWriteTimeUtc, info.Length);
            if (_checked.TryGetValue(rel, out var seen) && seen == stamp)
                return;
            data = File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // gone between the listing and the read (a delete or an agent restart)
        }
        string? problem = !_expected.TryGetValue(rel, out var want) ? "not a source file"
            : data.Length != want.Size ? $"size {data.Length}, source has {want.Size}"
            : !SHA256.HashData(data).AsSpan().SequenceEqual(want.Hash) ? "content differs from the source"
            : null;
        if (problem is null)
            _checked[rel] = stamp;
        else
        {
            lock (_violations)
                _violations.Add($"{rel}: {problem}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
