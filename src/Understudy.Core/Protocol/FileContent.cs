using Understudy.Core.Posix;

namespace Understudy.Core.Protocol;

/// <summary>
/// Send side only: <see cref="Length"/> bytes of an open file at <see cref="Offset"/>, read
/// (pread) straight into the frame as it is written. Read into a buffer of its own first, every
/// byte of a mirror was copied once more on the way to the send pipe (3.7 GiB on the benchmark).
/// The file must stay open until the send that carries it returns.
/// </summary>
internal readonly record struct FileContent(FileReader Reader, long Offset, int Length)
{
    public void ReadExactly(Span<byte> destination)
    {
        for (int done = 0; done < destination.Length;)
        {
            int n = Reader.Read(destination[done..], Offset + done);
            if (n == 0)
                throw new FileShrankException();
            done += n;
        }
    }
}

/// <summary>The file ended before the bytes a <see cref="FileContent"/> promised: it shrank since
/// it was opened. Nothing of the frame was sent; the sender reads what is there and sends that.</summary>
internal sealed class FileShrankException() : Exception("the file is shorter than when it was opened");
