using Understudy.Core.Api;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Target;

/// <summary>
/// What a source's replica may carry on this target beyond plain files (issue 19): its trust entry's privilege
/// flags. By default no set-user-ID or set-group-ID bit on a file (a setuid root binary the source planted would be
/// a root shell here) and no <c>security.*</c> or <c>trusted.*</c> extended attribute (file capabilities, SELinux
/// labels, IMA); owners are kept, as a file server's replica needs them. The bits go from directories too (a
/// metadata change does not say whether its entry is one): a share whose directories rely on set-group-ID needs
/// --allow-setuid. The operations are narrowed before the applier sees them, so every way of writing (whole files,
/// deltas, metadata, directories) obeys; the sticky bit and permissions are kept.
/// </summary>
internal sealed class PrivilegePolicy(bool allowSetuid, bool allowSecurityXattrs)
{
    private const uint SetUid = 0x800; // 04000
    private const uint SetGid = 0x400; // 02000

    /// <summary>What the restore direction uses: the source takes back its own files as they were.</summary>
    public static PrivilegePolicy Unrestricted { get; } = new(true, true);

    public static PrivilegePolicy For(TrustedPeer? peer) => new(peer?.AllowSetuid == true, peer?.AllowSecurityXattrs == true);

    /// <summary>Bits and attributes dropped so far (the session reports them once: ApplyPrivilegesDropped).</summary>
    public int Dropped { get; private set; }

    /// <summary>The first path something was dropped from, for the report.</summary>
    public string? FirstDropped { get; private set; }

    /// <summary><paramref name="m"/> with what this policy does not allow left out; the same message when nothing is.</summary>
    public Message Narrow(Message m)
    {
        if (allowSetuid && allowSecurityXattrs)
            return m;
        return m switch
        {
            FileBegin x when Narrows(x.Path.ToString(), x.Meta, x.Xattrs, out var meta, out var xattrs) => x with { Meta = meta, Xattrs = xattrs },
            DeltaBegin x when Narrows(x.Path.ToString(), x.Meta, x.Xattrs, out var meta, out var xattrs) => x with { Meta = meta, Xattrs = xattrs },
            MakeDirectory x when Narrows(x.Path.ToString(), x.Meta, x.Xattrs, out var meta, out var xattrs) => x with { Meta = meta, Xattrs = xattrs },
            SetMetadataOp x when Narrows(x.Path.ToString(), x.Meta, x.Xattrs, out var meta, out var xattrs) => x with { Meta = meta, Xattrs = xattrs },
            _ => m,
        };
    }

    /// <summary>The mode (07777 bits) an entry of mode <paramref name="mode"/> gets here.</summary>
    public uint NarrowMode(uint mode) => allowSetuid ? mode : mode & ~(SetUid | SetGid);

    /// <summary>May an attribute of this name be applied here?</summary>
    public bool Allows(ReadOnlySpan<byte> name) =>
        allowSecurityXattrs || !(name.StartsWith("security."u8) || name.StartsWith("trusted."u8));

    private bool Narrows(string path, EntryMeta meta, IReadOnlyList<Xattr>? xattrs, out EntryMeta narrowed, out IReadOnlyList<Xattr>? kept)
    {
        int dropped = 0;
        uint mode = NarrowMode(meta.Mode);
        if (mode != meta.Mode)
            dropped++;
        narrowed = meta with { Mode = mode };
        kept = xattrs;
        if (xattrs is not null && !allowSecurityXattrs)
        {
            var list = xattrs.Where(a => Allows(a.Name)).ToList();
            if (list.Count != xattrs.Count)
            {
                dropped += xattrs.Count - list.Count;
                kept = list;
            }
        }
        if (dropped == 0)
            return false;
        Dropped += dropped;
        FirstDropped ??= path;
        return true;
    }
}
