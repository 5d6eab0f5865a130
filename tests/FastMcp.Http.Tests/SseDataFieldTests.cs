using System.Buffers;
using System.Text;

namespace FastMcp.Http.Tests;

public class SseDataFieldTests
{
    private static string Joined(string evt)
    {
        var output = new ArrayBufferWriter<byte>();
        SseDataField.Join(Segments.Ascii(evt), output);
        return Encoding.Latin1.GetString(output.WrittenSpan);
    }

    private static string Replaced(string evt, string json)
    {
        var output = new ArrayBufferWriter<byte>();
        SseDataField.ReplaceData(Segments.Ascii(evt), Segments.Ascii(json), output);
        return Encoding.Latin1.GetString(output.WrittenSpan);
    }

    [Theory]
    [InlineData("data: {}\n\n", 1, "{}")]
    [InlineData("data:{\"a\":\ndata: 1}\n\n", 2, "{\"a\":\n1}")]
    [InlineData("data:  two spaces\n\n", 1, " two spaces")] // only one leading space is dropped
    [InlineData("data\ndata: x\n\n", 2, "\nx")]              // "data" alone is a field with an empty value
    [InlineData("event: message\r\nid: 4\r\ndata: [1,\r\ndata: 2]\r\n\r\n", 2, "[1,\n2]")]
    [InlineData("data: a\rdata: b\r\r", 2, "a\nb")]
    [InlineData(": comment\nretry: 10\n\n", 0, "")]
    [InlineData("database: x\ndata-x: y\n: data: z\n\n", 0, "")]   // other field names, a comment
    public void Data_lines_are_counted_and_joined_as_a_reader_joins_them(string evt, int count, string data)
    {
        Assert.Equal(count, SseDataField.Count(Segments.Ascii(evt)));
        Assert.Equal(data, Joined(evt));
    }

    [Fact]
    public void Replacing_keeps_every_other_field_and_puts_the_new_data_on_one_line()
    {
        string evt = "id: 7\r\nevent: message\r\ndata: {\"a\":\r\n: note\r\ndata: 1}\r\nretry: 5\r\n\r\n";
        Assert.Equal("id: 7\r\nevent: message\r\ndata: {\"b\":  2}\n: note\r\nretry: 5\r\n\r\n", Replaced(evt, "{\"b\":\r\n2}"));
    }

    [Fact]
    public void Replacing_a_single_data_line_keeps_the_event_shape()
    {
        Assert.Equal("event: message\ndata: []\n\n", Replaced("event: message\ndata: [1,2]\n\n", "[]"));
    }
}
