/// The payload of a lossless tile section (`Format.swift`, "Lossless tile payload"): method 0,
/// PNG's five row filters (ISO 15948 §9) and zlib level 9 over the filtered rows (filter choice:
/// `compress`). Byte-identical to `Training/bitstream.py`'s `compress_lossless`.
public enum LosslessCodec {
    static let methodFilteredZlib: UInt8 = 0

    /// Tiles of at most this many pixels also try each filter for all rows, keeping the smallest.
    public static let maxTriedPixels = 256 * 256

    /// The payload for `samples`: `height` rows of `width × channels` interleaved bytes. The rows
    /// are filtered per row by least sum of |signed byte| (PNG's heuristic) and deflated at level
    /// 9; tiles of at most `maxTriedPixels` also try those rows deflated with the `Z_FILTERED`
    /// strategy and one filter for every row (0…4), and keep the smallest payload (the first of
    /// equals, in that order).
    /// REQUIRES: `samples.count == width * height * channels`, channels 1…4 (colour, then alpha).
    public static func compress(_ samples: [UInt8], width: Int, height: Int, channels: Int) -> [UInt8] {
        precondition(samples.count == width * height * channels && (1...4).contains(channels))
        let rows = filtered(samples, width: width, height: height, channels: channels, fixed: nil)
        var best = Zlib.compress(rows)
        if width * height <= maxTriedPixels {
            let strategy = Zlib.compressFiltered(rows)
            if strategy.count < best.count { best = strategy }
            for filter in UInt8(0)...4 {
                let candidate = Zlib.compress(filtered(samples, width: width, height: height, channels: channels, fixed: filter))
                if candidate.count < best.count { best = candidate }
            }
        }
        return [methodFilteredZlib] + best
    }

    /// The filtered rows, each led by its filter byte: `fixed` for every row, or per row the
    /// filter of least sum of |signed byte|.
    static func filtered(_ samples: [UInt8], width: Int, height: Int, channels: Int, fixed: UInt8?) -> [UInt8] {
        let stride = width * channels
        var filtered = [UInt8](repeating: 0, count: height * (stride + 1))
        var candidate = [UInt8](repeating: 0, count: stride)
        var best = [UInt8](repeating: 0, count: stride)
        samples.withUnsafeBufferPointer { src in
            for y in 0..<height {
                let row = src.baseAddress! + y * stride
                let above = y > 0 ? row - stride : nil
                var bestFilter: UInt8 = 0
                var bestCost = Int.max
                for filter in fixed.map({ $0...$0 }) ?? UInt8(0)...4 {
                    var cost = 0
                    for i in 0..<stride {
                        let value = row[i] &- predictor(filter, row: row, above: above, i: i, channels: channels)
                        candidate[i] = value
                        cost += value < 128 ? Int(value) : 256 - Int(value)
                    }
                    if cost < bestCost {
                        bestCost = cost
                        bestFilter = filter
                        swap(&best, &candidate)
                    }
                }
                let start = y * (stride + 1)
                filtered[start] = bestFilter
                filtered.replaceSubrange(start + 1..<start + 1 + stride, with: best)
            }
        }
        return filtered
    }

    /// The `width × height × channels` samples of a payload; inflates no more than they take.
    /// - Throws: `.truncated` / `.corrupt` (`BitstreamError`) for a payload that does not hold
    ///   exactly such rows with valid filter bytes.
    public static func decompress(_ payload: [UInt8], width: Int, height: Int, channels: Int) throws -> [UInt8] {
        try inflate(payload, width: width, height: height, channels: channels)
    }

    private static func inflate(_ payload: [UInt8], width: Int, height: Int, channels: Int) throws(BitstreamError) -> [UInt8] {
        guard let method = payload.first else { throw .truncated }
        guard method == methodFilteredZlib else { throw .corrupt("lossless tile: unknown method \(method)") }
        let stride = width * channels
        let filtered = try Zlib.inflate(Array(payload.dropFirst()), count: height * (stride + 1), what: "lossless tile")
        var samples = [UInt8](repeating: 0, count: height * stride)
        try samples.withUnsafeMutableBufferPointer { (out: inout UnsafeMutableBufferPointer<UInt8>) throws(BitstreamError) in
            for y in 0..<height {
                let filter = filtered[y * (stride + 1)]
                guard filter <= 4 else { throw .corrupt("lossless tile: row \(y) has filter \(filter), not 0…4") }
                let row = out.baseAddress! + y * stride
                let above = y > 0 ? UnsafePointer(row - stride) : nil
                let source = y * (stride + 1) + 1
                for i in 0..<stride {
                    row[i] = filtered[source + i] &+ predictor(filter, row: UnsafePointer(row), above: above, i: i, channels: channels)
                }
            }
        }
        return samples
    }

    /// PNG's prediction of byte `i` of `row` (left: `channels` bytes back; 0 outside the tile).
    @inline(__always)
    private static func predictor(_ filter: UInt8, row: UnsafePointer<UInt8>, above: UnsafePointer<UInt8>?,
                                  i: Int, channels: Int) -> UInt8 {
        let a = i >= channels ? Int(row[i - channels]) : 0
        let b = above.map { Int($0[i]) } ?? 0
        switch filter {
        case 1: return UInt8(a)
        case 2: return UInt8(b)
        case 3: return UInt8((a + b) / 2)
        case 4:
            let c = i >= channels ? above.map { Int($0[i - channels]) } ?? 0 : 0
            let p = a + b - c
            let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
            return UInt8(pa <= pb && pa <= pc ? a : (pb <= pc ? b : c))
        default: return 0
        }
    }
}
