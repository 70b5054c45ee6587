namespace Understudy.Agent.State;

internal sealed partial class StateStore
{
    public void AddTrust(string id, string name) =>
        ExecDurable("INSERT INTO trust (id, name, added_at) VALUES ($id, $name, $at) ON CONFLICT(id) DO UPDATE SET name = $name",
            ("$id", id), ("$name", name), ("$at", Now()));

    public bool RemoveTrust(string id)
    {
        bool existed = IsTrusted(id);
        ExecDurable("DELETE FROM trust WHERE id = $id", ("$id", id));
        return existed;
    }

    public bool IsTrusted(string id) =>
        Query("SELECT 1 FROM trust WHERE id = $id", _ => true, ("$id", id)).Count > 0;

    public IReadOnlyList<TrustedPeer> ListTrust() =>
        Query("SELECT id, name, added_at FROM trust ORDER BY name, id", r => new TrustedPeer(r.GetString(0), r.GetString(1), r.GetString(2)));
}
