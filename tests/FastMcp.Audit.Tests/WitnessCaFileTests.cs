namespace FastMcp.Audit.Tests;

/// <summary>
/// anchoring.caFile (the witness behind a private CA) is checked at start: a file that is missing or holds no
/// certificate, or a witness that is not https://, stops the start with the field named; so does a witness token
/// file that cannot be read.
/// </summary>
public sealed class WitnessCaFileTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ArgumentException Refused(string? witnessUrl, string caFile) =>
        Assert.Throws<ArgumentException>(new AnchorOptions { WitnessUrl = witnessUrl, CaFile = caFile }.Validate);

    [Fact]
    public void A_missing_caFile_is_refused_naming_the_field()
    {
        ArgumentException e = Refused("https://witness.example/cp", Path.Combine(_dir.Root, "missing.pem"));
        Assert.Equal("anchoring.caFile", e.ParamName);
        Assert.Contains("no such file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_caFile_without_a_certificate_is_refused_naming_the_field()
    {
        string file = Path.Combine(_dir.Root, "empty.pem");
        File.WriteAllText(file, "no certificate here\n");
        ArgumentException e = Refused("https://witness.example/cp", file);
        Assert.Equal("anchoring.caFile", e.ParamName);
        Assert.Contains("holds no PEM certificate", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9/cp")]
    [InlineData(null)]
    public void A_caFile_without_an_https_witness_is_refused_naming_the_field(string? witnessUrl)
    {
        ArgumentException e = Refused(witnessUrl, Path.Combine(_dir.Root, "any.pem"));
        Assert.Equal("anchoring.caFile", e.ParamName);
        Assert.Contains("not https://", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_witness_token_file_that_cannot_be_read_is_refused_naming_the_field()
    {
        var options = new AnchorOptions { WitnessUrl = "https://witness.example/cp", WitnessTokenFile = Path.Combine(_dir.Root, "missing-token") };
        ArgumentException e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal("anchoring.witnessTokenFile", e.ParamName);
        Assert.Contains("no such file", e.Message, StringComparison.Ordinal);
    }
}
