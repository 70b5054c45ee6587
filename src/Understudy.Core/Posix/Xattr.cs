namespace Understudy.Core.Posix;

internal readonly record struct Xattr(byte[] Name, byte[] Value);
