/// Reads little-endian fields from a byte array; running out of bytes is `.truncated`, and a
/// length is checked against the bytes left before anything is allocated for it.
struct ByteReader: FieldVisitor {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset == bytes.count }

    mutating func visit<T: FixedWidthInteger & UnsignedInteger>(_ value: inout T) throws(BitstreamError) {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .truncated }
        var result: T = 0
        for index in 0..<size {
            result |= T(bytes[offset + index]) << (8 * index)
        }
        offset += size
        value = result
    }

    mutating func visit(_ value: inout [UInt8], count: Int) throws(BitstreamError) {
        value = try read(count: count)
    }

    /// The next `count` bytes; `.truncated` (before allocating) when fewer are left.
    mutating func read(count: Int) throws(BitstreamError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw .truncated }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }
}

/// Appends little-endian fields to a byte array.
struct ByteWriter: FieldVisitor {
    private(set) var bytes: [UInt8] = []

    mutating func visit<T: FixedWidthInteger & UnsignedInteger>(_ value: inout T) {
        for index in 0..<MemoryLayout<T>.size {
            bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index)))
        }
    }

    /// REQUIRES: `value.count == count` (a programming error otherwise, not an input error).
    mutating func visit(_ value: inout [UInt8], count: Int) {
        precondition(value.count == count, "field of \(count) bytes given \(value.count)")
        bytes += value
    }

    mutating func append(_ more: [UInt8]) { bytes += more }

    /// Appends the CRC-32 of the bytes from `start` to the end.
    mutating func appendCRC(from start: Int) {
        var crc = CRC32.checksum(bytes[start...])
        visit(&crc)
    }
}

/// Counts the bytes a record's fields take.
struct FieldSizeCounter: FieldVisitor {
    private(set) var size = 0

    mutating func visit<T: FixedWidthInteger & UnsignedInteger>(_ value: inout T) {
        size += MemoryLayout<T>.size
    }

    mutating func visit(_ value: inout [UInt8], count: Int) { size += count }
}
