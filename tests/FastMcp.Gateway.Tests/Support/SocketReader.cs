using System.Net.Sockets;
using System.Text;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// Buffered reads from a socket for hand-written HTTP: lines, exact byte counts, or until the peer
/// closes. Every read is bounded in time so a test that waits for bytes that never come fails with
/// a message instead of hanging.
/// </summary>
internal sealed class SocketReader(Socket socket)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    /// <summary>Bytes received but not consumed yet.</summary>
    public int Buffered => _end - _start;

    /// <summary>Reads one line ending in LF; the CRLF or LF is not part of the result. Null when the peer closed first.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan timeout, string waitingFor)
    {
        // Counted from _start, because filling may move the unread bytes to the front of the buffer.
        int scanned = 0;
        while (true)
        {
            int lf = Array.IndexOf(_buffer, (byte)'\n', _start + scanned, Buffered - scanned);
            if (lf >= 0)
            {
                int length = lf - _start;
                if (length > 0 && _buffer[lf - 1] == (byte)'\r') length--;
                string line = Encoding.Latin1.GetString(_buffer, _start, length);
                _start = lf + 1;
                return line;
            }
            scanned = Buffered;
            if (await FillAsync(timeout, waitingFor).ConfigureAwait(false) == 0) return null;
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes or throws when the peer closes first.</summary>
    public async Task<byte[]> ReadExactAsync(int count, TimeSpan timeout, string waitingFor)
    {
        while (Buffered < count)
        {
            if (await FillAsync(timeout, waitingFor).ConfigureAwait(false) == 0)
                throw new IOException($"peer closed after {Buffered} of {count} bytes while waiting for {waitingFor}");
        }
        byte[] result = _buffer.AsSpan(_start, count).ToArray();
        _start += count;
        return result;
    }

    /// <summary>Reads until the peer closes (or resets) the connection.</summary>
    public async Task<byte[]> ReadToEndAsync(TimeSpan timeout, string waitingFor)
    {
        while (await FillAsync(timeout, waitingFor).ConfigureAwait(false) > 0)
        {
        }
        byte[] result = _buffer.AsSpan(_start, Buffered).ToArray();
        _start = _end;
        return result;
    }

    /// <summary>
    /// True when the peer closes (FIN or RST) within <paramref name="timeout"/> without sending
    /// anything more; false when it is still open then, or when it sent more bytes.
    /// </summary>
    public async Task<bool> PeerClosesAsync(TimeSpan timeout)
    {
        if (Buffered > 0) return false;
        try
        {
            return await FillAsync(timeout, "the peer to close").ConfigureAwait(false) == 0;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Reads and discards whatever comes until the peer closes; false when it has not closed by <paramref name="timeout"/>.</summary>
    public async Task<bool> DrainUntilPeerClosesAsync(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            _start = _end = 0;
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) return false;
            try
            {
                if (await FillAsync(left, "the peer to close").ConfigureAwait(false) == 0) return true;
            }
            catch (TimeoutException)
            {
                return false;
            }
        }
    }

    /// <summary>Receives more bytes into the buffer. Returns 0 when the peer closed or reset the connection.</summary>
    private async Task<int> FillAsync(TimeSpan timeout, string waitingFor)
    {
        if (_start > 0 && _start == _end)
        {
            _start = _end = 0;
        }
        if (_end == _buffer.Length)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, Buffered);
                _end -= _start;
                _start = 0;
            }
            else
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
        }
        using var cts = new CancellationTokenSource(timeout);
        int n;
        try
        {
            n = await socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"nothing received within {timeout.TotalMilliseconds:F0} ms while waiting for {waitingFor}");
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown)
        {
            return 0;
        }
        _end += n;
        return n;
    }
}
