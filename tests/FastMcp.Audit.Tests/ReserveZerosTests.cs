using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Tests;

/// <summary>
/// The open segment's zero-filled reserve (audit-format.md §3.1) is written from views of one small zero array: every
/// size, whole chunks or not, must leave exactly that many zero bytes after what the file held, and nothing else.
/// </summary>
public sealed class ReserveZerosTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(0, 262_144)] // the start's first reserve step, one whole chunk
    [InlineData(0, 4 * 1024 * 1024)] // a later step, sixteen chunks
    [InlineData(5, 16_384)] // one slice past a few appended bytes
    [InlineData(3, 16_385)] // one byte past a slice
    [InlineData(100, 262_145)] // one byte past a chunk
    [InlineData(7, 300_001)] // a chunk and a part of one that ends inside a slice
    [InlineData(1, 2)]
    public void A_reserve_writes_zeros_up_to_its_size_after_the_appended_bytes(int appended, int size)
    {
        string path = Path.Combine(_dir.Root, $"r-{appended}-{size}.open");
        byte[] head = new byte[appended];
        Array.Fill(head, (byte)0xA5);
        using (IAuditFile file = PhysicalAuditFileSystem.Instance.OpenAppend(path))
        {
            file.Append(head);
            file.Reserve(size);
            Assert.Equal(appended, file.Length);
            Assert.Equal(Math.Max(appended, size), file.Reserved);
        }
        byte[] data = File.ReadAllBytes(path);
        Assert.Equal(Math.Max(appended, size), data.Length);
        Assert.Equal(head, data[..appended]);
        Assert.Equal(-1, data.AsSpan(appended).IndexOfAnyExcept((byte)0));
    }

    [Fact]
    public void A_second_reserve_extends_the_first_with_zeros_and_keeps_what_was_appended_inside_it()
    {
        string path = Path.Combine(_dir.Root, "grow.open");
        using (IAuditFile file = PhysicalAuditFileSystem.Instance.OpenAppend(path))
        {
            file.Reserve(262_144);
            file.Append("frame"u8);
            file.Reserve(262_144 + 4 * 1024 * 1024, durable: false);
            file.Flush();
            Assert.Equal(5, file.Length);
            Assert.Equal(262_144 + 4 * 1024 * 1024, file.Reserved);
        }
        byte[] data = File.ReadAllBytes(path);
        Assert.Equal(262_144 + 4 * 1024 * 1024, data.Length);
        Assert.Equal("frame"u8.ToArray(), data[..5]);
        Assert.Equal(-1, data.AsSpan(5).IndexOfAnyExcept((byte)0));
    }
}
