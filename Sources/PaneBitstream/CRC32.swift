import CZlib

/// CRC-32 of IEEE 802.3, computed by zlib's `crc32`.
public enum CRC32 {
    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            var crc = crc32(0, nil, 0)
            var start = 0
            // zlib takes at most UInt32.max bytes per call.
            while start < buffer.count {
                let count = min(buffer.count - start, Int(UInt32.max))
                crc = crc32(crc, buffer.baseAddress! + start, UInt32(count))
                start += count
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 { checksum(bytes[...]) }
}
