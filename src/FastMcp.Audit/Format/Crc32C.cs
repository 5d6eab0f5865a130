using System.Buffers.Binary;
using System.Numerics;

namespace FastMcp.Audit.Format;

/// <summary>CRC-32C (Castagnoli, as in iSCSI): init and final XOR 0xFFFFFFFF; hardware-accelerated where the CPU has it.</summary>
public static class Crc32C
{
    public static uint Append(uint state, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data) state = BitOperations.Crc32C(state, b);
        return state;
    }

    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(~0u, data);
}
