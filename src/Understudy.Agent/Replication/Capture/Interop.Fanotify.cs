using System.Runtime.InteropServices;

namespace Understudy.Agent.Replication.Capture;

internal static unsafe partial class Interop
{
    /// <summary>fanotify(7) constants and calls (uapi linux/fanotify.h).</summary>
    public static partial class Fanotify
    {
        public const ulong FAN_MODIFY = 0x2;
        public const ulong FAN_ATTRIB = 0x4;
        public const ulong FAN_CLOSE_WRITE = 0x8;
        public const ulong FAN_MOVED_FROM = 0x40;
        public const ulong FAN_MOVED_TO = 0x80;
        public const ulong FAN_CREATE = 0x100;
        public const ulong FAN_DELETE = 0x200;
        public const ulong FAN_DELETE_SELF = 0x400;
        public const ulong FAN_MOVE_SELF = 0x800;
        public const ulong FAN_Q_OVERFLOW = 0x4000;
        public const ulong FAN_RENAME = 0x10000000;
        public const ulong FAN_ONDIR = 0x40000000;

        public const uint FAN_CLOEXEC = 0x1;
        public const uint FAN_NONBLOCK = 0x2;
        public const uint FAN_CLASS_NOTIF = 0x0;
        public const uint FAN_UNLIMITED_QUEUE = 0x10;
        public const uint FAN_REPORT_FID = 0x200;
        public const uint FAN_REPORT_DIR_FID = 0x400;
        public const uint FAN_REPORT_NAME = 0x800;
        public const uint FAN_REPORT_DFID_NAME = FAN_REPORT_DIR_FID | FAN_REPORT_NAME;
        public const uint FAN_REPORT_TARGET_FID = 0x1000;

        /// <summary>Directory and name, plus the object itself (for a rename: the object moved). Linux 5.17+.</summary>
        public const uint FAN_REPORT_DFID_NAME_TARGET = FAN_REPORT_DFID_NAME | FAN_REPORT_FID | FAN_REPORT_TARGET_FID;

        public const uint FAN_MARK_ADD = 0x1;
        public const uint FAN_MARK_REMOVE = 0x2;
        public const uint FAN_MARK_FILESYSTEM = 0x100;

        public const byte FAN_EVENT_INFO_TYPE_FID = 1;
        public const byte FAN_EVENT_INFO_TYPE_DFID_NAME = 2;
        public const byte FAN_EVENT_INFO_TYPE_DFID = 3;
        public const byte FAN_EVENT_INFO_TYPE_OLD_DFID_NAME = 10;
        public const byte FAN_EVENT_INFO_TYPE_NEW_DFID_NAME = 12;

        /// <summary>sizeof(struct fanotify_event_metadata).</summary>
        public const int MetadataSize = 24;
        public const byte MetadataVersion = 3;

        [LibraryImport(Lib, EntryPoint = "fanotify_init", SetLastError = true)]
        public static partial int Init(uint flags, uint eventFlags);

        [LibraryImport(Lib, EntryPoint = "fanotify_mark", SetLastError = true)]
        public static partial int Mark(int fd, uint flags, ulong mask, int dirfd, byte* path);

        [LibraryImport(Lib, EntryPoint = "open_by_handle_at", SetLastError = true)]
        public static partial int OpenByHandleAt(int mountFd, byte* handle, int flags);

        [LibraryImport(Lib, EntryPoint = "name_to_handle_at", SetLastError = true)]
        public static partial int NameToHandleAt(int dirfd, byte* path, byte* handle, int* mountId, int flags);
    }
}
