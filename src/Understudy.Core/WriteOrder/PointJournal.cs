using System.Buffers.Binary;
using System.Globalization;

namespace Understudy.Core.WriteOrder;

/// <summary>The target's journal of consistency points, in a directory of its own (on the replica's
/// file system or any other):
/// <list type="bullet">
/// <item><c>state</c>: two 64-byte slots holding <see cref="PointState"/> with a sequence number and a
/// CRC32C; each update writes the older slot and fsyncs, so a torn write leaves the other slot, the
/// previous state, in force.</item>
/// <item><c>N.stream</c>: point N's send stream, whole and checked (fsynced, then renamed from
/// <c>N.part</c>, the directory fsynced) before the state says "received N". A <c>.part</c> left by a
/// crash is a point not fully received: it is deleted and never applied.</item>
/// </list></summary>
internal sealed partial class PointJournal
{
    private const int SlotSize = 64;
    private static ReadOnlySpan<byte> Magic => "USWOPNT1"u8;

    private readonly string _dir;
    private ulong _seq;

    private PointJournal(string dir, PointState state, ulong seq)
    {
        _dir = dir;
        State = state;
        _seq = seq;
    }

    public PointState State { get; private set; }

    public string Directory => _dir;

    public string StreamPath(long point) => Path.Combine(_dir, point.ToString(CultureInfo.InvariantCulture) + ".stream");

    private string PartPath(long point) => Path.Combine(_dir, point.ToString(CultureInfo.InvariantCulture) + ".part");

    private string StatePath => Path.Combine(_dir, "state");

    /// <summary>A new journal whose replica equals <paramref name="basePoint"/> (the initial mirror, made from
    /// a read-only snapshot). Refuses a directory that already has one.</summary>
    public static PointJournal Create(string dir, long basePoint, long takenAtNs = 0)
    {
        System.IO.Directory.CreateDirectory(dir);
        var j = new PointJournal(dir, default, 0);
        if (File.Exists(j.StatePath))
            throw new IOException($"{dir} already holds a point journal");
        j.Write(new PointState(basePoint, basePoint, 0, takenAtNs, takenAtNs));
        j.Write(new PointState(basePoint, basePoint, 0, takenAtNs, takenAtNs)); // both slots valid from the start
        FsyncDirectory(dir);
        return j;
    }

    /// <summary>The replica was made equal to <paramref name="basePoint"/> by other means (a mirror of the point's
    /// snapshot) and is synced: the journal starts again from it, whatever it held (a point received but not applied
    /// is meaningless now, and dropped).</summary>
    public static PointJournal Rebase(string dir, long basePoint, long takenAtNs)
    {
        if (!File.Exists(Path.Combine(dir, "state")))
            return Create(dir, basePoint, takenAtNs);
        var j = Open(dir);
        j.Write(new PointState(basePoint, basePoint, 0, takenAtNs, takenAtNs));
        foreach (var f in System.IO.Directory.EnumerateFiles(dir, "*.stream"))
            File.Delete(f);
        return j;
    }

    /// <summary>Opens an existing journal: the newer valid state slot wins; streams that are not the
    /// pending point (partial receipts, applied points) are deleted.</summary>
    public static PointJournal Open(string dir)
    {
        var bytes = File.ReadAllBytes(Path.Combine(dir, "state"));
        PointState? best = null;
        ulong bestSeq = 0;
        for (int slot = 0; slot < 2; slot++)
        {
            if (bytes.Length < (slot + 1) * SlotSize)
                continue;
            if (Decode(bytes.AsSpan(slot * SlotSize, SlotSize), out var s, out ulong seq) && (best is null || seq > bestSeq))
                (best, bestSeq) = (s, seq);
        }
        if (best is not { } state)
            throw new IOException($"{dir}/state: no valid slot (the journal is damaged)");
        var j = new PointJournal(dir, state, bestSeq);
        foreach (var f in System.IO.Directory.EnumerateFiles(dir))
        {
            string name = Path.GetFileName(f);
            if (name.EndsWith(".part", StringComparison.Ordinal) || (name.EndsWith(".stream", StringComparison.Ordinal) && !(state.Pending && f == j.StreamPath(state.Received))))
                File.Delete(f);
        }
        return j;
    }

    /// <summary>Makes <paramref name="s"/> the durable state (write the older slot, fsync).</summary>
    internal void Write(PointState s)
    {
        ulong seq = _seq + 1;
        Span<byte> slot = stackalloc byte[SlotSize];
        slot.Clear();
        Magic.CopyTo(slot);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[8..], seq);
        BinaryPrimitives.WriteInt64LittleEndian(slot[16..], s.Applied);
        BinaryPrimitives.WriteInt64LittleEndian(slot[24..], s.Received);
        BinaryPrimitives.WriteInt32LittleEndian(slot[32..], s.Next);
        BinaryPrimitives.WriteInt64LittleEndian(slot[36..], s.AppliedTakenNs);
        BinaryPrimitives.WriteInt64LittleEndian(slot[44..], s.ReceivedTakenNs);
        BinaryPrimitives.WriteUInt32LittleEndian(slot[(SlotSize - 4)..], Crc32C.Update(0, slot[..(SlotSize - 4)]));
        using (var h = File.OpenHandle(StatePath, FileMode.OpenOrCreate, FileAccess.Write))
        {
            RandomAccess.Write(h, slot, (long)(seq % 2) * SlotSize);
            RandomAccess.FlushToDisk(h);
        }
        _seq = seq;
        State = s;
    }

    private static bool Decode(ReadOnlySpan<byte> slot, out PointState s, out ulong seq)
    {
        s = default;
        seq = 0;
        if (!slot[..8].SequenceEqual(Magic) || BinaryPrimitives.ReadUInt32LittleEndian(slot[(SlotSize - 4)..]) != Crc32C.Update(0, slot[..(SlotSize - 4)]))
            return false;
        seq = BinaryPrimitives.ReadUInt64LittleEndian(slot[8..]);
        s = new PointState(BinaryPrimitives.ReadInt64LittleEndian(slot[16..]), BinaryPrimitives.ReadInt64LittleEndian(slot[24..]), BinaryPrimitives.ReadInt32LittleEndian(slot[32..]),
            BinaryPrimitives.ReadInt64LittleEndian(slot[36..]), BinaryPrimitives.ReadInt64LittleEndian(slot[44..]));
        return true;
    }

    /// <summary>fsync of a directory (a rename or create in it made durable); .NET's file handles refuse directories.</summary>
    internal static unsafe void FsyncDirectory(string dir)
    {
        int fd;
        fixed (byte* p = Posix.Sys.Z(System.Text.Encoding.UTF8.GetBytes(dir)))
            fd = Posix.Libc.open(p, Posix.Libc.O_RDONLY | Posix.Libc.O_DIRECTORY | Posix.Libc.O_CLOEXEC, 0);
        if (fd < 0)
            throw Posix.PosixException.FromLastError("open", dir);
        using var h = new Posix.SafeFd(fd);
        if (Posix.Libc.fsync(h) != 0)
            throw Posix.PosixException.FromLastError("fsync", dir);
    }
}
