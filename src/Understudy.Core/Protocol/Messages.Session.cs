namespace Understudy.Core.Protocol;

/// <summary>First frame from each side. <c>magic</c> guards against talking to something else.</summary>
internal sealed record Hello(ushort MinVersion, ushort MaxVersion, string AgentName) : Message
{
    public const uint Magic = 0x44545355; // "USTD" little-endian
    /// <summary>2: manifest entries carry allocated bytes and (on request) xattr digests, and ManifestRequest a flags
    /// byte. An agent of version 1 cannot read them: the two refuse each other at Hello instead of misreading a
    /// manifest. Also the Hole delta instruction (a source hole left unwritten on the target).
    /// 3: write-order mode (issue 17): the Point* frames, JobOpened's point fields, the job spec's
    /// <c>replication.consistency</c>.
    /// 4: <see cref="Heartbeat"/> on every link, both ways (issue 20). A version 3 agent still talks to this one (as
    /// version 3, without heartbeats): it would end the link on a frame type it does not know.</summary>
    public const ushort CurrentVersion = 4;

    /// <summary>The oldest version this agent speaks (sent as the Hello's minimum).</summary>
    public const ushort OldestVersion = 3;

    /// <summary>From this version on, both sides send <see cref="Heartbeat"/> frames.</summary>
    public const ushort HeartbeatVersion = 4;

    public override MessageType Type => MessageType.Hello;

    public override void Write(WireWriter w)
    {
        w.U32(Magic);
        w.U16(MinVersion);
        w.U16(MaxVersion);
        w.String(AgentName);
    }

    public static Hello Read(ref WireReader r)
    {
        if (r.U32() != Magic)
            ProtocolException.Throw("bad magic in hello: not an Understudy agent");
        return new Hello(r.U16(), r.U16(), r.String(256));
    }
}

internal enum ErrorCode : ushort
{
    Refused = 1,
    NotFound = 2,
    Conflict = 3,
    Protocol = 4,
    Io = 5,
    NoSpace = 6,
    Version = 7,
    Busy = 8,
    Passive = 9,
}

/// <summary>A refusal or failure; the sender closes the connection after it unless stated otherwise.</summary>
internal sealed record ErrorMessage(ErrorCode Code, string Text) : Message
{
    public override MessageType Type => MessageType.Error;

    public override void Write(WireWriter w)
    {
        w.U16((ushort)Code);
        w.String(Text);
    }

    public static ErrorMessage Read(ref WireReader r) => new((ErrorCode)r.U16(), r.String(8192));
}

/// <summary>Source → target: bind this connection to a job and its target path.
/// <see cref="JobJson"/> (optional trailing field; empty when absent) is the whole job spec as
/// <c>JobSpecJson</c>, so the target knows the fail-over settings and can act without the source.</summary>
internal sealed record OpenJob(string JobName, string TargetPath, string SourceName, string JobJson = "") : Message
{
    public const int MaxJobJson = 1 << 20;

    public override MessageType Type => MessageType.OpenJob;

    public override void Write(WireWriter w)
    {
        w.String(JobName);
        w.String(TargetPath);
        w.String(SourceName);
        if (JobJson.Length > 0)
            w.String(JobJson);
    }

    public static OpenJob Read(ref WireReader r) =>
        new(r.String(256), r.String(4096), r.String(256), r.Remaining > 0 ? r.String(MaxJobJson) : "");
}

/// <summary>Target → source: the job is bound; <see cref="LastAppliedSeq"/> is the last durable replication sequence;
/// <see cref="PreservesOwnership"/> is true when the target runs as root and so keeps owners and groups.
/// <see cref="PointHeld"/>: the write-order point the replica is exactly (after the target's recovery), -1 for none
/// (a file-mode job, or a write-order job never mirrored); <see cref="PointTakenAtNs"/>: its snapshot time.</summary>
internal sealed record JobOpened(string JobName, ulong LastAppliedSeq, bool PreservesOwnership, long PointHeld = -1, long PointTakenAtNs = 0) : Message
{
    public override MessageType Type => MessageType.JobOpened;

    public override void Write(WireWriter w)
    {
        w.String(JobName);
        w.U64(LastAppliedSeq);
        w.Bool(PreservesOwnership);
        w.I64(PointHeld);
        w.I64(PointTakenAtNs);
    }

    public static JobOpened Read(ref WireReader r)
    {
        var name = r.String(256);
        ulong seq = r.U64();
        bool owners = r.Bool();
        long point = r.I64();
        if (point < -1)
            ProtocolException.Throw($"invalid point {point}");
        return new JobOpened(name, seq, owners, point, r.I64());
    }
}

internal sealed record CloseJob : Message
{
    public override MessageType Type => MessageType.CloseJob;

    public override void Write(WireWriter w)
    {
    }
}

/// <summary>Asks the target to make everything before it durable and acknowledge <see cref="Seq"/>.</summary>
internal sealed record Barrier(ulong Seq) : Message
{
    public override MessageType Type => MessageType.Barrier;

    public override void Write(WireWriter w) => w.U64(Seq);
}

/// <summary>Everything up to and including the barrier <see cref="Seq"/> is durable on the target.</summary>
internal sealed record Ack(ulong Seq) : Message
{
    public override MessageType Type => MessageType.Ack;

    public override void Write(WireWriter w) => w.U64(Seq);
}

internal sealed record Ping(ulong Nonce) : Message
{
    public override MessageType Type => MessageType.Ping;

    public override void Write(WireWriter w) => w.U64(Nonce);
}

internal sealed record Pong(ulong Nonce) : Message
{
    public override MessageType Type => MessageType.Pong;

    public override void Write(WireWriter w) => w.U64(Nonce);
}

/// <summary>
/// "I am alive", sent by each side of a version 4 link every <see cref="IntervalMs"/> whatever else it sends, and read
/// by the receiving connection itself (never handed to a session). The receiver takes the link for dead once nothing
/// at all has arrived for 3 × the sender's interval (docs/protocol.md, "Heartbeat").
/// </summary>
internal sealed record Heartbeat(uint IntervalMs) : Message
{
    public override MessageType Type => MessageType.Heartbeat;

    public override void Write(WireWriter w) => w.U32(IntervalMs);
}

/// <summary>Target → source: one operation could not be applied. The target stops applying until the job is reopened.</summary>
internal sealed record ApplyFailed(ErrorCode Code, string Path, string Text) : Message
{
    public override MessageType Type => MessageType.ApplyFailed;

    public override void Write(WireWriter w)
    {
        w.U16((ushort)Code);
        w.String(Path);
        w.String(Text);
    }

    public static ApplyFailed Read(ref WireReader r) => new((ErrorCode)r.U16(), r.String(8192), r.String(8192));
}

/// <summary>A small JSON-encoded request on the peer link for everything that is not bulk data
/// (fail-over status, job registration details). Kept as JSON so it can evolve without new frame types.</summary>
internal sealed record ControlRequest(string Verb, string Json) : Message
{
    public override MessageType Type => MessageType.ControlRequest;

    public override void Write(WireWriter w)
    {
        w.String(Verb);
        w.String(Json);
    }

    public static ControlRequest Read(ref WireReader r) => new(r.String(64), r.String(1 << 20));
}

internal sealed record ControlReply(bool Ok, string Json) : Message
{
    public override MessageType Type => MessageType.ControlReply;

    public override void Write(WireWriter w)
    {
        w.Bool(Ok);
        w.String(Json);
    }

    public static ControlReply Read(ref WireReader r) => new(r.Bool(), r.String(1 << 20));
}
