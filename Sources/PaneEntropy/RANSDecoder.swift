/// rANS decoder state over a byte stream read forward; never reads out of bounds.
struct RANSDecoder {
    private let bytes: [UInt8]
    private var position = 4
    private var state: UInt32

    /// Reads the initial state.
    /// - Throws: `.truncated` below 4 bytes, `.corrupt` for a state outside [2^23, 2^31).
    init(_ bytes: [UInt8]) throws {
        guard bytes.count >= 4 else { throw EntropyError.truncated }
        self.bytes = bytes
        state = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        guard state >= RANS.lowerBound, state < RANS.lowerBound << 8 else {
            throw EntropyError.corrupt("initial state \(state) outside [2^23, 2^31)")
        }
    }

    /// Where the next symbol lies in [0, 2^16).
    @inline(__always)
    var slot: UInt32 { state & (RANS.total - 1) }

    /// Removes the symbol [start, start + frequency) that contains `slot`, then refills the state.
    /// REQUIRES: start <= slot < start + frequency. With the state in [2^23, 2^31) nothing overflows.
    /// - Throws: `.truncated` when the bytes run out.
    @inline(__always)
    mutating func advance(start: UInt32, frequency: UInt32) throws {
        state = frequency * (state >> RANS.precision) + slot - start
        while state < RANS.lowerBound {
            guard position < bytes.count else { throw EntropyError.truncated }
            state = state << 8 | UInt32(bytes[position])
            position += 1
        }
    }

    /// Decodes one uniform 4-bit bypass symbol.
    @inline(__always)
    mutating func nibble() throws -> UInt32 {
        let value = slot / RANS.nibbleFrequency
        try advance(start: value * RANS.nibbleFrequency, frequency: RANS.nibbleFrequency)
        return value
    }

    /// - Throws: `.corrupt` unless the state is back at 2^23 with every byte consumed.
    func finish() throws {
        guard state == RANS.lowerBound else { throw EntropyError.corrupt("final state \(state) is not 2^23") }
        guard position == bytes.count else {
            throw EntropyError.corrupt("\(bytes.count - position) bytes left after the last symbol")
        }
    }
}

extension RANS {
    /// Decodes `indexes.count` symbols written by `encode` with the same indexes and tables.
    ///
    /// Safe on hostile input: it reads no byte out of bounds and does bounded work per symbol.
    /// - Throws: `EntropyError.truncated` when the bytes end too early; `.corrupt` when they cannot
    ///   come from `encode` (initial state out of range, bypass count over 9 or a leading zero
    ///   group, a symbol outside Int32, final state not 2^23, bytes left over);
    ///   `.invalidIndex(i)` for an index that names no table.
    public static func decode(_ bytes: [UInt8], indexes: [Int32], tables: CDFTables) throws -> [Int32] {
        var decoder = try RANSDecoder(bytes)
        var symbols = [Int32]()
        symbols.reserveCapacity(indexes.count)
        for (i, index) in indexes.enumerated() {
            let row = try tables.row(index, position: i)
            let s = tables.symbol(containing: decoder.slot, in: row)
            let (start, frequency) = tables.interval(s, in: row)
            try decoder.advance(start: start, frequency: frequency)
            var v = Int64(s)
            if s == row.regularCount {
                let groups = Int(try decoder.nibble()) + 1
                guard groups <= maxBypassGroups else {
                    throw EntropyError.corrupt("bypass of \(groups) groups exceeds \(maxBypassGroups)")
                }
                var u: UInt64 = 0
                for g in 0..<groups { u |= UInt64(try decoder.nibble()) << UInt64(bypassBits * g) }
                guard groups == 1 || u >> UInt64(bypassBits * (groups - 1)) != 0 else {
                    throw EntropyError.corrupt("bypass value has a leading zero group")
                }
                v = escapedValue(u, regularCount: row.regularCount)
            }
            guard let symbol = Int32(exactly: v + row.offset) else {
                throw EntropyError.corrupt("symbol \(v + row.offset) at position \(i) outside Int32")
            }
            symbols.append(symbol)
        }
        try decoder.finish()
        return symbols
    }
}
