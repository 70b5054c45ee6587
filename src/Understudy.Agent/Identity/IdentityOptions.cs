namespace Understudy.Agent.Identity;

/// <summary>
/// Where the target agent writes the identity it takes over, per agent (not per job). Read from the
/// environment of `understudy agent` so a lab can run several agents, each with its own smbd, on one machine:
/// <c>UNDERSTUDY_SMB_CONF</c>, <c>UNDERSTUDY_SMB_INCLUDE_DIR</c>, <c>UNDERSTUDY_NFS_CONF</c>,
/// <c>UNDERSTUDY_NFS_INCLUDE_DIR</c>, <c>UNDERSTUDY_NFS_PID_FILE</c>, <c>UNDERSTUDY_SET_HOSTNAME</c> (0 = never change the host name),
/// <c>UNDERSTUDY_SCRIPTS_DIR</c>.
/// </summary>
internal sealed record IdentityOptions
{
    public string SmbConf { get; init; } = "/etc/samba/smb.conf";

    /// <summary>Understudy's own files: <c>global.conf</c> (netbios aliases), <c>shares.conf</c>, <c>jobs/</c>.</summary>
    public string SambaIncludeDir { get; init; } = "/etc/samba/understudy.d";

    public string GaneshaConf { get; init; } = "/etc/ganesha/ganesha.conf";

    public string GaneshaIncludeDir { get; init; } = "/etc/ganesha/understudy.d";

    /// <summary>NFS-Ganesha reloads its exports on SIGHUP; this is where it writes its PID.</summary>
    public string GaneshaPidFile { get; init; } = "/run/ganesha/ganesha.pid";

    /// <summary>
    /// Mode replace also sets the host name. Off in a lab whose hosts are network namespaces only:
    /// `ip netns exec` shares the UTS namespace, so `hostname` would rename the whole machine.
    /// </summary>
    public bool SetHostname { get; init; } = true;

    /// <summary>
    /// The only place fail-over and fail-back scripts run from: a plan names a script relative to it, and the target's
    /// operator decides what is in it (a source's plan cannot bring its own executable: issue 19, item 2).
    /// </summary>
    public string ScriptsDir { get; init; } = Core.Jobs.PlanPolicy.DefaultScriptsDir;

    public string Ip { get; init; } = "ip";

    public string Smbcontrol { get; init; } = "smbcontrol";

    public string Hostname { get; init; } = "hostname";

    /// <summary>The kernel NFS server's export tool: a source fenced by its witness unexports the job's NFS exports with it.</summary>
    public string Exportfs { get; init; } = "exportfs";

    /// <summary>The defaults changed by <paramref name="env"/>: read once, as the agent starts (AgentHost.CreateAsync).</summary>
    public static IdentityOptions FromEnvironment(Func<string, string?> env)
    {
        var o = new IdentityOptions();
        return o with
        {
            SmbConf = env("UNDERSTUDY_SMB_CONF") ?? o.SmbConf,
            SambaIncludeDir = env("UNDERSTUDY_SMB_INCLUDE_DIR") ?? o.SambaIncludeDir,
            GaneshaConf = env("UNDERSTUDY_NFS_CONF") ?? o.GaneshaConf,
            GaneshaIncludeDir = env("UNDERSTUDY_NFS_INCLUDE_DIR") ?? o.GaneshaIncludeDir,
            GaneshaPidFile = env("UNDERSTUDY_NFS_PID_FILE") ?? o.GaneshaPidFile,
            SetHostname = env("UNDERSTUDY_SET_HOSTNAME") is not ("0" or "no" or "false"),
            ScriptsDir = env("UNDERSTUDY_SCRIPTS_DIR") is { Length: > 0 } dir ? dir : o.ScriptsDir,
        };
    }
}
