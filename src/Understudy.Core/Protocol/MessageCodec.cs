namespace Understudy.Core.Protocol;

/// <summary>Turns a complete frame body into its message. Data-bearing messages borrow <paramref name="body"/>.</summary>
internal static class MessageCodec
{
    public static Message Decode(MessageType type, ReadOnlyMemory<byte> body)
    {
        var r = new WireReader(body.Span);
        Message m = type switch
        {
            MessageType.Hello => Hello.Read(ref r),
            MessageType.Error => ErrorMessage.Read(ref r),
            MessageType.OpenJob => OpenJob.Read(ref r),
            MessageType.JobOpened => JobOpened.Read(ref r),
            MessageType.CloseJob => new CloseJob(),
            MessageType.ManifestRequest => ManifestRequest.Read(ref r),
            MessageType.ManifestBatch => ManifestBatch.Read(ref r),
            MessageType.ManifestEnd => ManifestEnd.Read(ref r),
            MessageType.MakeDirectory => MakeDirectory.Read(ref r),
            MessageType.FileBegin => FileBegin.Read(ref r, body),
            MessageType.FileData => FileData.Read(ref r, body),
            MessageType.FileEnd => new FileEnd(r.Bool()),
            MessageType.Symlink => SymlinkOp.Read(ref r),
            MessageType.HardLink => HardLinkOp.Read(ref r),
            MessageType.Delete => DeleteOp.Read(ref r),
            MessageType.SetMetadata => SetMetadataOp.Read(ref r),
            MessageType.Rename => RenameOp.Read(ref r),
            MessageType.Barrier => new Barrier(r.U64()),
            MessageType.Ack => new Ack(r.U64()),
            MessageType.SignatureRequest => SignatureRequest.Read(ref r),
            MessageType.Signature => SignatureReply.Read(ref r),
            MessageType.DeltaBegin => DeltaBegin.Read(ref r),
            MessageType.DeltaData => DeltaData.Read(ref r, body),
            MessageType.ApplyFailed => ApplyFailed.Read(ref r),
            MessageType.Ping => new Ping(r.U64()),
            MessageType.Pong => new Pong(r.U64()),
            MessageType.ControlRequest => ControlRequest.Read(ref r),
            MessageType.ControlReply => ControlReply.Read(ref r),
            MessageType.PointBegin => PointBegin.Read(ref r),
            MessageType.PointData => PointData.Read(ref r, body),
            MessageType.PointEnd => PointEnd.Read(ref r),
            MessageType.PointApplied => new PointApplied(r.I64()),
            MessageType.PointCurrent => PointCurrent.Read(ref r),
            MessageType.Heartbeat => new Heartbeat(r.U32()),
            _ => throw new ProtocolException($"unexpected frame type {type}"),
        };
        r.End();
        return m;
    }
}
