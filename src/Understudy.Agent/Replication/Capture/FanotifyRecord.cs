using System.Buffers.Binary;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// One fanotify event read from the kernel buffer: the metadata and the fid info records that
/// FAN_REPORT_DFID_NAME attaches. Spans point into the read buffer and live only until the next read.
/// </summary>
/// <remarks>
/// Layout (uapi linux/fanotify.h): struct fanotify_event_metadata { u32 event_len; u8 vers; u8 reserved;
/// u16 metadata_len; u64 mask; s32 fd; s32 pid; } then records of struct fanotify_event_info_fid
/// { u8 info_type; u8 pad; u16 len; __kernel_fsid_t fsid (8 bytes); struct file_handle { u32 handle_bytes;
/// s32 handle_type; u8 f_handle[handle_bytes]; }; then, for *_DFID_NAME types, a NUL-terminated name }.
/// </remarks>
internal ref struct FanotifyRecord
{
    public ulong Mask;
    public int Fd;

    /// <summary>Directory handle and name (DFID_NAME or OLD_DFID_NAME); name "." means the directory itself.</summary>
    public ReadOnlySpan<byte> DirHandle;
    public ReadOnlySpan<byte> Name;

    /// <summary>FAN_RENAME's new location (NEW_DFID_NAME).</summary>
    public ReadOnlySpan<byte> NewDirHandle;
    public ReadOnlySpan<byte> NewName;

    /// <summary>A bare fid (DFID or FID record): the object itself for self events.</summary>
    public ReadOnlySpan<byte> ObjectHandle;

    /// <summary>
    /// Reads the next event from <paramref name="data"/>; false when no whole event is left.
    /// Malformed records are skipped by their stated length, never trusted past the event's end.
    /// </summary>
    public static bool TryRead(ref ReadOnlySpan<byte> data, out FanotifyRecord record)
    {
        record = default;
        if (data.Length < Interop.Fanotify.MetadataSize)
            return false;
        int eventLen = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
        int metaLen = BinaryPrimitives.ReadUInt16LittleEndian(data[6..]);
        if (eventLen < Interop.Fanotify.MetadataSize || eventLen > data.Length || metaLen > eventLen || metaLen < Interop.Fanotify.MetadataSize)
        {
            data = default; // a broken stream: stop parsing this buffer
            return false;
        }
        var ev = data[..eventLen];
        data = data[eventLen..];
        record.Mask = BinaryPrimitives.ReadUInt64LittleEndian(ev[8..]);
        record.Fd = BinaryPrimitives.ReadInt32LittleEndian(ev[16..]);
        var info = ev[metaLen..];
        while (info.Length >= 4)
        {
            byte type = info[0];
            int len = BinaryPrimitives.ReadUInt16LittleEndian(info[2..]);
            if (len < 4 || len > info.Length)
                break;
            ParseInfo(type, info[4..len], ref record);
            info = info[len..];
        }
        return true;
    }

    private static void ParseInfo(byte type, ReadOnlySpan<byte> body, ref FanotifyRecord record)
    {
        const int FsidSize = 8;
        const int HandleHeader = 8;
        if (body.Length < FsidSize + HandleHeader)
            return;
        var fh = body[FsidSize..];
        int handleBytes = (int)BinaryPrimitives.ReadUInt32LittleEndian(fh);
        if (handleBytes > fh.Length - HandleHeader)
            return;
        var handle = fh[..(HandleHeader + handleBytes)];
        var rest = fh[(HandleHeader + handleBytes)..];
        int nul = rest.IndexOf((byte)0);
        var name = nul >= 0 ? rest[..nul] : rest;
        switch (type)
        {
            case Interop.Fanotify.FAN_EVENT_INFO_TYPE_DFID_NAME:
            case Interop.Fanotify.FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
                record.DirHandle = handle;
                record.Name = name;
                break;
            case Interop.Fanotify.FAN_EVENT_INFO_TYPE_NEW_DFID_NAME:
                record.NewDirHandle = handle;
                record.NewName = name;
                break;
            case Interop.Fanotify.FAN_EVENT_INFO_TYPE_DFID:
            case Interop.Fanotify.FAN_EVENT_INFO_TYPE_FID:
                record.ObjectHandle = handle;
                break;
        }
    }
}
