using System.Buffers;
using System.IO.Pipelines;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;
using System.Runtime.CompilerServices;

namespace FastMcp.Gateway.Forwarding;

internal enum BodyReadResult : byte { Complete, TooLarge, Closed, TimedOut, Invalid }

/// <summary>
/// Reads a whole message body from a pipe by its framing, bounded in size. A complete body leaves what follows it
/// unconsumed and unexamined: on a client connection that is the next pipelined request, which the head
/// reader must find without waiting for the socket; on an upstream connection it is data nobody asked for, which the
/// pool sees and so closes the connection (UpstreamPool.Return; RFC 9112 6.3).
/// </summary>
internal static class BodyReader
{
    public static ValueTask<BodyReadResult> ReadWholeAsync(UpstreamConnection upstream, Buffers.PooledBufferWriter output, HttpLimits limits, CancellationToken ct)
    {
        HttpResponseHead head = upstream.ResponseHead;
        return ReadWholeAsync(upstream.Input, head.Framing, head.ContentLength, output, limits.MaxResponseMessageBytes, limits, ct);
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    public static async ValueTask<BodyReadResult> ReadWholeAsync(PipeReader input, BodyFraming framing, long contentLength, Buffers.PooledBufferWriter output,
        long maxBytes, HttpLimits limits, CancellationToken ct)
    {
        if (framing == BodyFraming.None) return BodyReadResult.Complete;
        if (framing == BodyFraming.ContentLength && contentLength > maxBytes) return BodyReadResult.TooLarge;
        long remaining = framing == BodyFraming.ContentLength ? contentLength : long.MaxValue;
        long total = 0;
        var decoder = new ChunkedDecoder();
        try
        {
            while (true)
            {
                ReadResult result = await input.ReadAsync(ct).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                if (framing == BodyFraming.Chunked)
                {
                    var reader = new SequenceReader<byte>(buffer);
                    int before = output.WrittenCount;
                    OperationStatus status = decoder.Decode(ref reader, output, limits, out _);
                    total += output.WrittenCount - before;
                    if (status == OperationStatus.Done && total <= maxBytes)
                    {
                        // Bytes past the body stay unexamined: the next read sees them at once (see the summary).
                        input.AdvanceTo(reader.Position);
                        return BodyReadResult.Complete;
                    }
                    input.AdvanceTo(reader.Position, buffer.End);
                    if (total > maxBytes) return BodyReadResult.TooLarge;
                    if (status == OperationStatus.InvalidData) return BodyReadResult.Invalid;
                }
                else
                {
                    long take = Math.Min(buffer.Length, remaining);
                    if (total + take > maxBytes)
                    {
                        input.AdvanceTo(buffer.Start, buffer.End);
                        return BodyReadResult.TooLarge;
                    }
                    foreach (ReadOnlyMemory<byte> segment in buffer.Slice(0, take)) output.Write(segment.Span);
                    total += take;
                    remaining -= take;
                    if (remaining == 0)
                    {
                        input.AdvanceTo(buffer.GetPosition(take));
                        return BodyReadResult.Complete;
                    }
                    input.AdvanceTo(buffer.GetPosition(take), buffer.End);
                    if (result.IsCompleted && framing == BodyFraming.UntilClose) return BodyReadResult.Complete;
                }
                if (result.IsCompleted) return BodyReadResult.Closed;
            }
        }
        catch (OperationCanceledException)
        {
            return BodyReadResult.TimedOut;
        }
    }
}
