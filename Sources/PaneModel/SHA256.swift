import CPaneKernels

/// SHA-256 (FIPS 180-4), used to check that a model's weights match its manifest.
enum SHA256 {
    /// Lower-case hex digest of `bytes`.
    static func hex(_ bytes: [UInt8]) -> String {
        digest(bytes).map { String(format2: $0) }.joined()
    }

    static func digest(_ bytes: [UInt8]) -> [UInt8] {
        digest(bytes, compress: pane_sha256_blocks)
    }

    /// The digest with a given compression function (the tests pass the reference).
    static func digest(_ bytes: [UInt8],
                       compress: (UnsafeMutablePointer<UInt32>, UnsafePointer<UInt8>, Int) -> Void) -> [UInt8] {
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var tail = Array(bytes[(bytes.count / 64 * 64)...])
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        let bitLength = UInt64(bytes.count) &* 8
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        h.withUnsafeMutableBufferPointer { state in
            bytes.withUnsafeBufferPointer { buf in
                if buf.count >= 64 { compress(state.baseAddress!, buf.baseAddress!, buf.count / 64) }
            }
            tail.withUnsafeBufferPointer { buf in compress(state.baseAddress!, buf.baseAddress!, buf.count / 64) }
        }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32($0))) } }
    }
}
private extension String {
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
