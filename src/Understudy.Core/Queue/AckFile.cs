using System.Buffers.Binary;
using System.IO.Hashing;

namespace Understudy.Core.Queue;

/// <summary>
/// The acknowledged sequence number: "USQACK01" | i64 seq | u32 CRC-32 of the seq. Replaced
/// atomically (temp file, fsync, rename, fsync of the directory), so a crash leaves the old
/// or the new value, never a mix. Written through the file-system seam (<see cref="QueueDirectory"/>); a failure
/// throws and leaves the old value (the temp file left behind is removed when the queue opens).
/// </summary>
internal static class AckFile
{
    private const string Name = "ack";
    private const int Length = 20;

    private static ReadOnlySpan<byte> Magic => "USQACK01"u8;

    public static long Read(string directory)
    {
        string path = Path.Combine(directory, Name);
        if (!File.Exists(path))
            return 0;
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != Length || !bytes.AsSpan(0, 8).SequenceEqual(Magic)
            || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)) != Crc32.HashToUInt32(bytes.AsSpan(8, 8)))
            throw new QueueCorruptException($"Acknowledgement file {path} is damaged.");
        return BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8));
    }

    public static void Write(QueueDirectory directory, long seq)
    {
        Span<byte> bytes = stackalloc byte[Length];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[8..], seq);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[16..], Crc32.HashToUInt32(bytes.Slice(8, 8)));
        const string temp = Name + ".tmp";
        using (var fd = directory.Create(temp))
        {
            directory.Write(fd, bytes, 0, temp);
            directory.Fsync(fd, temp);
        }
        directory.Rename(temp, Name);
        directory.Sync();
    }
}
