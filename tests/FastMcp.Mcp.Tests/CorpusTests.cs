namespace FastMcp.Mcp.Tests;

/// <summary>Edge cases kept as data: testdata/inspect/&lt;ExpectedError&gt;--&lt;what&gt;.json.</summary>
public class CorpusTests
{
    private static string Directory => Path.Combine(AppContext.BaseDirectory, "testdata", "inspect");

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (string path in System.IO.Directory.GetFiles(Directory, "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(path));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Corpus_file_inspects_as_its_name_says(string file)
    {
        string expectedName = file[..file.IndexOf("--", StringComparison.Ordinal)];
        McpInspectError expected = expectedName == "none" ? McpInspectError.None : Enum.Parse<McpInspectError>(expectedName);
        byte[] bytes = File.ReadAllBytes(Path.Combine(Directory, file));

        Assert.Equal(expected, McpInspector.Inspect(bytes, out McpCall call));
        for (int cut = 0; cut <= bytes.Length; cut++)
        {
            Assert.Equal(expected, McpInspector.Inspect(Segments.Split(bytes, cut), out McpCall split));
            Assert.Equal(call, split);
        }
        Assert.Equal(expected, McpInspector.Inspect(Segments.OneByteEach(bytes), out _));
    }

    [Fact]
    public void Corpus_is_present()
    {
        Assert.True(Files().Count >= 15);
    }
}
