using System.Runtime.InteropServices;

namespace Understudy.Core.Posix;

/// <summary>An owned file descriptor. Every fd this layer opens lives in one of these so that
/// an exception between open and close can never leak it, and a call in flight keeps it alive
/// (the P/Invoke marshaller add-refs SafeHandle arguments).</summary>
internal sealed class SafeFd : SafeHandle
{
    public SafeFd()
        : base(-1, ownsHandle: true)
    {
    }

    public SafeFd(int fd)
        : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle < 0;

    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;
}
