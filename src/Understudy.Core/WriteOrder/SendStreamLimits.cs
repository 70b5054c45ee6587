namespace Understudy.Core.WriteOrder;

/// <summary>What a send stream reader accepts before it allocates. A version 1 command is at most
/// 64 KiB with its header (BTRFS_SEND_BUF_SIZE_V1); version 2's is 16 KiB + the largest compressed
/// extent (128 KiB), page aligned (BTRFS_SEND_BUF_SIZE_V2): 144 KiB is the default, so any stream the
/// kernel makes passes and a corrupt length costs at most that.</summary>
internal sealed record SendStreamLimits(int MaxCommandBodyBytes)
{
    public static SendStreamLimits Default { get; } = new(144 * 1024);
}
