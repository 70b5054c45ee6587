namespace Understudy.Core.Jobs;

/// <summary>
/// What a source's fail-over plan may ask of the target (issue 19, item 2): the plan arrives from another machine and
/// its steps run as root there, so every value that lands in a configuration file is checked against the syntax that
/// file gives it, and share and export options come from an allow-list instead of being written verbatim. Checked by
/// <see cref="JobSpec.Validate"/> on both sides: the source's author hears it from `job check`, and the target refuses
/// a plan that breaks it whatever the source's version.
/// </summary>
internal static class PlanPolicy
{
    /// <summary>
    /// smb.conf share parameters a plan may set: access, masks, naming and locking behaviour of the share itself.
    /// Left out on purpose: anything that runs a command (`root preexec`, `preexec`, `postexec`, `print command`,
    /// `magic script`, `dfree command`…), points elsewhere (`path`, `directory`, `include`, `copy`, `wide links`,
    /// `follow symlinks`, `msdfs proxy`), or grants root (`admin users`). Samba compares parameter names without case
    /// or blanks ("readonly" is "read only"), and so does this list.
    /// </summary>
    public static readonly IReadOnlySet<string> ShareOptions = new HashSet<string>(new[]
    {
        "comment", "read only", "writable", "writeable", "write ok", "browseable", "browsable", "guest ok", "public", "guest only",
        "valid users", "invalid users", "read list", "write list", "force user", "force group",
        "create mask", "create mode", "directory mask", "directory mode", "force create mode", "force directory mode",
        "inherit permissions", "inherit acls", "inherit owner", "hide dot files", "hide files", "veto files", "hide unreadable",
        "access based share enum", "ea support", "store dos attributes", "map acl inherit", "nt acl support", "acl allow execute always",
        "oplocks", "level2 oplocks", "strict locking", "case sensitive", "preserve case", "short preserve case", "default case",
        "max connections", "hosts allow", "hosts deny", "allow hosts", "deny hosts", "smb encrypt", "vfs objects", "csc policy",
        "durable handles", "map archive", "map hidden", "map system", "map readonly", "dos filemode", "dos filetimes",
    }.Select(Key), StringComparer.Ordinal);

    /// <summary>`vfs objects` a plan may load: the usual file-server modules, none that widens what a share reaches.</summary>
    public static readonly IReadOnlySet<string> VfsObjects = new HashSet<string>(
        ["acl_xattr", "streams_xattr", "fruit", "catia", "recycle", "shadow_copy2", "btrfs", "xattr_tdb", "full_audit", "dirsort", "fileid"],
        StringComparer.Ordinal);

    /// <summary>NFS export options a plan may name (exports(5) words; Understudy maps ro/rw and the squash words to NFS-Ganesha).</summary>
    public static readonly IReadOnlySet<string> NfsOptions = new HashSet<string>(
        ["rw", "ro", "sync", "async", "root_squash", "no_root_squash", "all_squash", "no_all_squash", "secure", "insecure",
            "subtree_check", "no_subtree_check", "wdelay", "no_wdelay", "hide", "nohide"], StringComparer.Ordinal);

    /// <summary>The allow-list's key of a parameter name: lower case, blanks removed (as Samba compares them).</summary>
    public static string Key(string name) => new([.. name.Where(c => !char.IsWhiteSpace(c)).Select(char.ToLowerInvariant)]);

    /// <summary>Why a share option is refused, or null.</summary>
    public static string? ShareOptionProblem(string name, string value)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Any(char.IsControl))
            return $"'{name}' is not a valid smb.conf parameter name";
        if (Key(name) == "path")
            return "do not set 'path' in options: Understudy points the share at the replica of 'path'";
        if (!ShareOptions.Contains(Key(name)))
            return $"'{name.Trim()}' is not on the target's list of share options a fail-over plan may set (it could run a command, reach outside the share "
                + "or grant root); allowed: " + string.Join(", ", ShareOptions.Order(StringComparer.Ordinal));
        if (value.Any(char.IsControl))
            return $"the value of '{name.Trim()}' contains a line break or another control character";
        // A trailing backslash continues an smb.conf line onto the next: the next line would become part of the value.
        if (value.TrimEnd().EndsWith('\\'))
            return $"the value of '{name.Trim()}' ends with a backslash, which smb.conf reads as a line continuation";
        if (Key(name) == "vfsobjects")
        {
            var bad = value.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries).Where(m => !VfsObjects.Contains(m)).ToList();
            if (bad.Count > 0)
                return $"vfs objects {string.Join(", ", bad)} not allowed in a fail-over plan; allowed: {string.Join(", ", VfsObjects.Order(StringComparer.Ordinal))}";
        }
        return null;
    }

    /// <summary>Why an NFS export's <c>clients</c> is refused, or null: a comma-separated list of hosts, networks, wildcards or @netgroups,
    /// nothing that NFS-Ganesha's block syntax would read as structure (<c>;</c>, braces, quotes, <c>=</c>, blanks).</summary>
    public static string? NfsClientsProblem(string clients)
    {
        if (string.IsNullOrWhiteSpace(clients))
            return "expected a client specification like '*' or 192.0.2.0/24, got an empty value";
        foreach (var c in clients.Split(','))
        {
            if (c.Length == 0 || !c.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '.' or ':' or '*' or '?' or '/' or '@' or '_' or '-'))
                return $"expected a client specification like '*', 192.0.2.0/24, host.example.com or @netgroup (comma-separated; no spaces, quotes, braces, '=' or ';'), got '{clients}'";
        }
        return null;
    }

    /// <summary>Why NFS export options are refused, or null.</summary>
    public static string? NfsOptionsProblem(string options)
    {
        var words = options.Split(',');
        var bad = words.Where(w => !NfsOptions.Contains(w)).ToList();
        if (bad.Count == 0)
            return null;
        return $"export option{(bad.Count > 1 ? "s" : "")} {string.Join(", ", bad.Select(b => $"'{b}'"))} not allowed (comma-separated, no spaces); allowed: "
            + string.Join(", ", NfsOptions.Order(StringComparer.Ordinal));
    }

    /// <summary>Why a path is refused where a configuration file quotes it (NFS-Ganesha's <c>Path = "…"</c>, smb.conf's <c>path =</c>), or null.</summary>
    public static string? ServedPathProblem(string path) =>
        path.Any(char.IsControl) ? $"'{path}' contains a line break or another control character, which the target's configuration files cannot hold"
        : path.IndexOfAny(['"', '\\']) >= 0 ? $"'{path}' contains a quote or a backslash, which the target's NFS and Samba configuration files would read as syntax"
        : null;

    /// <summary>Where scripts live on a target unless its agent says otherwise (<c>UNDERSTUDY_SCRIPTS_DIR</c>).</summary>
    public const string DefaultScriptsDir = "/etc/understudy/scripts";

    /// <summary>Why a script name is refused, or null: a relative path inside the target's scripts directory, never out of it.</summary>
    public static string? ScriptProblem(string run)
    {
        if (string.IsNullOrEmpty(run))
            return "expected the name of a script in the target's scripts directory, got an empty value";
        if (run[0] == '/')
            return $"'{run}' is an absolute path: a fail-over plan names its scripts relative to the target's scripts directory "
                + $"({DefaultScriptsDir} unless the target's agent sets UNDERSTUDY_SCRIPTS_DIR), which the target's operator fills; "
                + $"install the script there on the target and name it like '{Path.GetFileName(run)}'";
        if (run.Any(char.IsControl) || run.Length > 255)
            return $"'{run}' is not a script name (control characters, or longer than 255)";
        foreach (var part in run.Split('/'))
        {
            if (part is "" or "." or "..")
                return $"'{run}' leaves or misnames a directory ('..', '.' or '//'): a script must lie inside the target's scripts directory";
        }
        return null;
    }
}
