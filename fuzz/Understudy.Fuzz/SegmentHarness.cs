using System.Buffers.Binary;
using Understudy.Core.Queue;

namespace Understudy.Fuzz;

/// <summary>
/// A replication queue directory holding one segment file with the input as its content (named after the first
/// sequence its header claims, so the header check passes and the records are read). Opening it recovers the tail
/// (<see cref="SegmentLog"/>'s recovery); then every record is read, one is appended and read back, and a second open
/// must find nothing left to repair. Bad input: <see cref="QueueCorruptException"/>.
/// </summary>
internal static class SegmentHarness
{
    private static readonly string s_root = Directory.CreateTempSubdirectory("understudy-fuzz-segment-").FullName;

    public static void Run(byte[] input)
    {
        var dir = Path.Combine(s_root, "queue");
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        long first = input.Length >= RecordFormat.SegmentHeaderLength ? BinaryPrimitives.ReadInt64LittleEndian(input.AsSpan(8)) : 1;
        if (first is < 1 or > 99_999_999_999_999_999)
            first = 1;
        File.WriteAllBytes(Path.Combine(dir, RecordFormat.SegmentName(first)), input);
        try
        {
            long last;
            using (var log = SegmentLog.Open(dir))
            {
                last = first - 1;
                foreach (var r in log.ReadFrom(first))
                {
                    if (r.Seq != last + 1)
                        throw new InvalidOperationException($"record {r.Seq} read after {last}");
                    last = r.Seq;
                }
                long added = log.Append("appended"u8);
                log.Flush();
                if (log.ReadFrom(added).Single().Seq != added)
                    throw new InvalidOperationException("the appended record does not read back");
            }
            using var again = SegmentLog.Open(dir);
            if (!again.Recovery.Clean)
                throw new InvalidOperationException($"a second open repaired again: {again.Recovery}");
        }
        catch (QueueCorruptException)
        {
        }
    }

    public static IEnumerable<(string, byte[])> Seeds()
    {
        var dir = Directory.CreateTempSubdirectory("understudy-fuzz-seed-").FullName;
        try
        {
            using (var log = SegmentLog.Open(dir))
            {
                log.Append("first record"u8);
                log.Append([]);
                log.Append(new byte[300]);
                log.Append("{\"op\":\"write\",\"path\":\"www/index.html\"}"u8);
                log.Flush();
            }
            yield return ("four-records", File.ReadAllBytes(Directory.GetFiles(dir, "*.seg").Single()));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
