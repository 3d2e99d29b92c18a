/// rANS encoder state: `put` codes symbols last to first, `finish` lays the bytes out forward.
struct RANSEncoder {
    private var state = RANS.lowerBound
    /// Renormalization bytes in the order they were emitted; `finish` reverses them.
    private var emitted: [UInt8] = []

    init(reservingBytes capacity: Int = 0) {
        emitted.reserveCapacity(capacity)
    }

    /// Codes the symbol [start, start + frequency) of a 2^16 total.
    /// REQUIRES: frequency >= 1 and start + frequency <= 2^16.
    @inline(__always)
    mutating func put(start: UInt32, frequency: UInt32) {
        // A state at or above frequency << 15 would code to 2^31 or more: move its low bytes out first.
        let limit = ((RANS.lowerBound >> RANS.precision) << 8) * frequency
        while state >= limit {
            emitted.append(UInt8(truncatingIfNeeded: state))
            state >>= 8
        }
        state = ((state / frequency) << RANS.precision) + state % frequency + start
    }

    /// Codes one uniform 4-bit bypass symbol. REQUIRES: value < 16.
    @inline(__always)
    mutating func putNibble(_ value: UInt32) {
        put(start: value * RANS.nibbleFrequency, frequency: RANS.nibbleFrequency)
    }

    /// The stream: the final state little-endian, then the emitted bytes last first.
    func finish() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(emitted.count + 4)
        for shift: UInt32 in [0, 8, 16, 24] { bytes.append(UInt8(truncatingIfNeeded: state >> shift)) }
        bytes.append(contentsOf: emitted.reversed())
        return bytes
    }
}

extension RANS {
    /// Entropy-codes `symbols`, symbol i with table `indexes[i]` (see `RANS` for the format).
    ///
    /// Any Int32 symbol can be coded; values outside a table's range cost an escape plus 2–10
    /// uniform 4-bit symbols.
    /// - Throws: `EntropyError.invalidIndex(i)` for an index that names no table, or at the
    ///   shorter count when `symbols` and `indexes` differ in count.
    public static func encode(symbols: [Int32], indexes: [Int32], tables: CDFTables) throws -> [UInt8] {
        guard symbols.count == indexes.count else {
            throw EntropyError.invalidIndex(min(symbols.count, indexes.count))
        }
        var encoder = RANSEncoder(reservingBytes: symbols.count)
        for i in stride(from: symbols.count - 1, through: 0, by: -1) {
            let row = try tables.row(indexes[i], position: i)
            let v = Int64(symbols[i]) - row.offset
            if v >= 0, v < Int64(row.regularCount) {
                let (start, frequency) = tables.interval(Int(v), in: row)
                encoder.put(start: start, frequency: frequency)
                continue
            }
            let u = bypassValue(v, regularCount: row.regularCount)
            let groups = max(1, (u.bitWidth - u.leadingZeroBitCount + bypassBits - 1) / bypassBits)
            for g in stride(from: groups - 1, through: 0, by: -1) {
                encoder.putNibble(UInt32(truncatingIfNeeded: u >> UInt64(bypassBits * g)) & 0xF)
            }
            encoder.putNibble(UInt32(groups - 1))
            let (start, frequency) = tables.interval(row.regularCount, in: row)
            encoder.put(start: start, frequency: frequency)
        }
        return encoder.finish()
    }
}
