using System.Runtime.InteropServices;

namespace Understudy.Core.Posix;

/// <summary>struct open_how (include/uapi/linux/openat2.h): three u64, 24 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct OpenHow
{
    public ulong Flags;
    public ulong Mode;
    public ulong Resolve;
}

/// <summary>struct timespec on 64-bit Linux.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Timespec
{
    public long Sec;
    public long Nsec;
}

/// <summary>struct statx (include/uapi/linux/stat.h). Its layout is the same on every
/// architecture, which is why this layer uses it instead of struct stat. 256 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct StatxBuf
{
    [FieldOffset(0)] public uint Mask;
    [FieldOffset(4)] public uint BlkSize;
    [FieldOffset(8)] public ulong Attributes;
    [FieldOffset(16)] public uint Nlink;
    [FieldOffset(20)] public uint Uid;
    [FieldOffset(24)] public uint Gid;
    [FieldOffset(28)] public ushort Mode;
    [FieldOffset(32)] public ulong Ino;
    [FieldOffset(40)] public ulong Size;
    [FieldOffset(48)] public ulong Blocks;
    [FieldOffset(56)] public ulong AttributesMask;
    // atime 64, btime 80, ctime 96, mtime 112: { i64 tv_sec; u32 tv_nsec; i32 reserved }
    [FieldOffset(96)] public long CtimeSec;
    [FieldOffset(104)] public uint CtimeNsec;
    [FieldOffset(112)] public long MtimeSec;
    [FieldOffset(120)] public uint MtimeNsec;
    [FieldOffset(128)] public uint RdevMajor;
    [FieldOffset(132)] public uint RdevMinor;
    [FieldOffset(136)] public uint DevMajor;
    [FieldOffset(140)] public uint DevMinor;
    [FieldOffset(144)] public ulong MntId;
}

/// <summary>struct pollfd.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PollFd
{
    public int Fd;
    public short Events;
    public short REvents;
}
