namespace Understudy.Testing;

/// <summary>The one libc call the harness needs: SIGTERM to an agent, so it shuts down as it would under systemd.</summary>
public static class Native
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    public static extern int Kill(int pid, int signal);
}
