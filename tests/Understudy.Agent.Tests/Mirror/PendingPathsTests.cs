using Understudy.Agent.Target;
using Understudy.Core.Paths;
using Xunit;

namespace Understudy.Agent.Tests.Mirror;

public sealed class PendingPathsTests
{
    private static RelPath P(string s) => RelPath.Parse(s);

    [Theory]
    [InlineData("a/b/f1", true)]     // the pending file itself
    [InlineData("a/b", true)]        // its directory (e.g. SetMetadata, Delete)
    [InlineData("a", true)]          // an ancestor
    [InlineData("", true)]           // the root
    [InlineData("a/b/f1/x", true)]   // below it (a file replaced by a directory)
    [InlineData("a/b/f2", false)]    // a sibling
    [InlineData("a/bb", false)]      // a name sharing a prefix
    [InlineData("a/c/f1", false)]
    public void Touches_matches_the_path_its_ancestors_and_what_lies_below(string path, bool expected)
    {
        var set = new PendingPaths();
        set.Add(P("a/b/f1"));
        set.Add(P("a/c/d/f9"));
        Assert.Equal(expected, set.Touches(path.Length == 0 ? RelPath.Root : P(path)));
    }

    [Fact]
    public void Empty_and_cleared_sets_touch_nothing()
    {
        var set = new PendingPaths();
        Assert.False(set.Touches(RelPath.Root));
        set.Add(P("x/y"));
        set.Clear();
        Assert.Equal(0, set.Count);
        Assert.False(set.Touches(P("x")));
    }
}
