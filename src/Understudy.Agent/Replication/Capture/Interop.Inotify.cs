using System.Runtime.InteropServices;

namespace Understudy.Agent.Replication.Capture;

internal static unsafe partial class Interop
{
    /// <summary>inotify(7) constants and calls.</summary>
    public static partial class Inotify
    {
        public const uint IN_MODIFY = 0x2;
        public const uint IN_ATTRIB = 0x4;
        public const uint IN_CLOSE_WRITE = 0x8;
        public const uint IN_MOVED_FROM = 0x40;
        public const uint IN_MOVED_TO = 0x80;
        public const uint IN_CREATE = 0x100;
        public const uint IN_DELETE = 0x200;
        public const uint IN_DELETE_SELF = 0x400;
        public const uint IN_MOVE_SELF = 0x800;
        public const uint IN_UNMOUNT = 0x2000;
        public const uint IN_Q_OVERFLOW = 0x4000;
        public const uint IN_IGNORED = 0x8000;
        public const uint IN_ONLYDIR = 0x01000000;
        public const uint IN_DONT_FOLLOW = 0x02000000;
        public const uint IN_EXCL_UNLINK = 0x04000000;
        public const uint IN_MASK_ADD = 0x20000000;
        public const uint IN_ISDIR = 0x40000000;

        public const int IN_NONBLOCK = 0x800;
        public const int IN_CLOEXEC = 0x80000;

        /// <summary>struct inotify_event without its name: wd, mask, cookie, len.</summary>
        public const int EventHeaderSize = 16;

        [LibraryImport(Lib, EntryPoint = "inotify_init1", SetLastError = true)]
        public static partial int Init1(int flags);

        [LibraryImport(Lib, EntryPoint = "inotify_add_watch", SetLastError = true)]
        public static partial int AddWatch(int fd, byte* path, uint mask);

        [LibraryImport(Lib, EntryPoint = "inotify_rm_watch", SetLastError = true)]
        public static partial int RmWatch(int fd, int wd);
    }
}
