namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// Notices when the kernel's merging of identical fanotify events may have hidden a rename, and checks the
/// names involved once the queue is quiet. Only the watcher thread uses it. Pure logic, unit-tested on its own.
/// </summary>
/// <remarks>
/// <para>fanotify merges an event into an identical one still unread in its queue, renames included (the
/// same object, old and new directory and name). So in "mv A B; mv B A; mv A B" done before the watcher
/// reads, the third rename disappears into the first: the events say A, the disk says B, and replaying
/// them leaves the target with the wrong name, silently.</para>
/// <para>Such a merge needs the old name of a rename to come back while that rename is unread: a later
/// event that creates the name or moves something to it. Names are kept as (directory handle, name), which no
/// directory rename changes, with the object the events say is there now (the moved object's handle, from
/// FAN_REPORT_TARGET_FID) or nothing. When a name came back, the names are compared with the disk once the
/// queue is empty, and stays empty while they are compared: every change has then been read, so what the
/// events say must be what is there. A difference means a merge hid something: an overflow (a difference
/// mirror) repairs it. Whenever the queue is empty the state is cleared: no event already read can absorb a
/// later one.</para>
/// </remarks>
internal sealed class FanotifyMergeCheck
{
    /// <summary>Beyond this many names without a quiet moment to check them, the watcher overflows and starts again.</summary>
    public const int MaxNames = 65536;

    private static readonly byte[] Exists = [];

    private readonly Dictionary<byte[], byte[]?> _implied = new(BytesComparer.Instance);
    private readonly HashSet<byte[]> _renamedFrom = new(BytesComparer.Instance);

    /// <summary>An old name of a rename came back before the queue was seen empty: a rename may have been merged away.</summary>
    public bool AtRisk { get; private set; }

    public bool HasState => _implied.Count > 0;

    public bool TooMany => _implied.Count > MaxNames;

    /// <summary>A rename of <paramref name="obj"/> (empty when the kernel does not say) from one name to another.</summary>
    public void Renamed(ReadOnlySpan<byte> oldDir, ReadOnlySpan<byte> oldName, ReadOnlySpan<byte> newDir, ReadOnlySpan<byte> newName, ReadOnlySpan<byte> obj)
    {
        var from = Key(oldDir, oldName);
        var to = Key(newDir, newName);
        if (_renamedFrom.Contains(to))
            AtRisk = true;
        _implied[from] = null;
        _implied[to] = obj.IsEmpty ? Exists : obj.ToArray();
        _renamedFrom.Add(from);
    }

    /// <summary>A name was created (or something moved to it, on kernels without FAN_RENAME).</summary>
    public void Appeared(ReadOnlySpan<byte> dir, ReadOnlySpan<byte> name, ReadOnlySpan<byte> obj)
    {
        if (_implied.Count == 0)
            return;
        var key = Key(dir, name);
        if (_renamedFrom.Contains(key))
            AtRisk = true;
        if (_implied.ContainsKey(key))
            _implied[key] = obj.IsEmpty ? Exists : obj.ToArray();
    }

    /// <summary>A name was removed (or moved away, on kernels without FAN_RENAME).</summary>
    public void Vanished(ReadOnlySpan<byte> dir, ReadOnlySpan<byte> name)
    {
        if (_implied.Count == 0)
            return;
        var key = Key(dir, name);
        if (_implied.ContainsKey(key))
            _implied[key] = null;
    }

    /// <summary>
    /// Compares every name with the disk: <paramref name="now"/> gets a directory handle and a name and returns the
    /// handle of what is there (null: nothing, or the directory is gone). Returns the first name that differs, or null.
    /// </summary>
    public string? FindDifference(Func<byte[], byte[], byte[]?> now)
    {
        foreach (var (key, implied) in _implied)
        {
            var (dir, name) = Split(key);
            var actual = now(dir, name);
            bool same = implied is null ? actual is null
                : actual is not null && (implied.Length == 0 || implied.AsSpan().SequenceEqual(actual));
            if (!same)
                return $"'{System.Text.Encoding.UTF8.GetString(name)}' is {(actual is null ? "gone" : "another file")} but the events say {(implied is null ? "it is gone" : "it is there")}";
        }
        return null;
    }

    public void Clear()
    {
        _implied.Clear();
        _renamedFrom.Clear();
        AtRisk = false;
    }

    private static byte[] Key(ReadOnlySpan<byte> dir, ReadOnlySpan<byte> name)
    {
        var k = new byte[2 + dir.Length + name.Length];
        k[0] = (byte)(dir.Length >> 8);
        k[1] = (byte)dir.Length;
        dir.CopyTo(k.AsSpan(2));
        name.CopyTo(k.AsSpan(2 + dir.Length));
        return k;
    }

    private static (byte[] Dir, byte[] Name) Split(byte[] key)
    {
        int n = (key[0] << 8) | key[1];
        return (key[2..(2 + n)], key[(2 + n)..]);
    }

    private sealed class BytesComparer : IEqualityComparer<byte[]>
    {
        public static readonly BytesComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj)
        {
            var h = new HashCode();
            h.AddBytes(obj);
            return h.ToHashCode();
        }
    }
}
