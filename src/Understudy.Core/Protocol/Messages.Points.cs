namespace Understudy.Core.Protocol;

// Write-order mode (docs/protocol.md, "Write-order points"; docs/adr/0001-write-order-mode.md): a point travels as
// PointBegin, its btrfs send stream in PointData chunks, PointEnd; the target answers PointApplied once the point is
// applied to the replica and synced. The stream checks itself (CRC32C per command), so the frames carry no checksum.

/// <summary>Source → target: point <see cref="Point"/> (the source's snapshot number) follows as a delta from
/// <see cref="Parent"/>, which the replica must hold. <see cref="Parent"/> -1: a <em>base</em>: the operations sent
/// before it in this session (a mirror of the point's read-only snapshot) made the replica equal to the point; no
/// PointData follows. <see cref="TakenAtNs"/>: when the snapshot was taken (Unix ns): every write completed by then
/// is in the point.</summary>
internal sealed record PointBegin(long Point, long Parent, long TakenAtNs) : Message
{
    public override MessageType Type => MessageType.PointBegin;

    public override void Write(WireWriter w)
    {
        w.I64(Point);
        w.I64(Parent);
        w.I64(TakenAtNs);
    }

    public static PointBegin Read(ref WireReader r)
    {
        var m = new PointBegin(r.I64(), r.I64(), r.I64());
        if (m.Point < 0 || m.Parent < -1 || m.Parent >= m.Point && m.Parent != -1)
            ProtocolException.Throw($"invalid point {m.Point} from {m.Parent}");
        return m;
    }
}

/// <summary>Source → target: the next piece (≤ <see cref="Frame.DataChunk"/>) of the current point's send stream.</summary>
internal sealed record PointData(ReadOnlyMemory<byte> Data) : Message
{
    public override MessageType Type => MessageType.PointData;

    public override void Write(WireWriter w) => w.Bytes(Data.Span);

    public override int BodySizeHint => 4 + Data.Length;

    public static PointData Read(ref WireReader r, ReadOnlyMemory<byte> body)
    {
        var data = r.Bytes(Frame.DataChunk);
        return new PointData(body.Slice(4, data.Length));
    }
}

/// <summary>Source → target: the point's stream is complete; <see cref="Point"/> and <see cref="TakenAtNs"/> repeat
/// PointBegin's (a mismatch is a protocol violation). <see cref="Abort"/>: the source stopped sending it (a command
/// came, or the job was paused): the target drops what it received of it, and its state stays as it was.</summary>
internal sealed record PointEnd(long Point, long TakenAtNs, bool Abort = false) : Message
{
    public override MessageType Type => MessageType.PointEnd;

    public override void Write(WireWriter w)
    {
        w.I64(Point);
        w.I64(TakenAtNs);
        w.Bool(Abort);
    }

    public static PointEnd Read(ref WireReader r) => new(r.I64(), r.I64(), r.Bool());
}

/// <summary>Target → source: the replica is point <see cref="Point"/>, durably (applied, synced, recorded).</summary>
internal sealed record PointApplied(long Point) : Message
{
    public override MessageType Type => MessageType.PointApplied;

    public override void Write(WireWriter w) => w.I64(Point);
}

/// <summary>Source → target: nothing changed since point <see cref="Point"/> up to <see cref="AsOfNs"/> (Unix ns; the
/// source's skip test found the file system's generation unmoved), so a replica holding that point is consistent as of
/// then. Sent at most about once a second; the RPO clock of an idle replica.</summary>
internal sealed record PointCurrent(long Point, long AsOfNs) : Message
{
    public override MessageType Type => MessageType.PointCurrent;

    public override void Write(WireWriter w)
    {
        w.I64(Point);
        w.I64(AsOfNs);
    }

    public static PointCurrent Read(ref WireReader r) => new(r.I64(), r.I64());
}
