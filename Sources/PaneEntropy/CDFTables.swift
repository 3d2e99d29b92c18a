/// Integer CDF tables for `RANS`, computed once at export by `Training/rans.py`
/// (`pmf_to_quantized_cdf`) and never rebuilt from floats here.
///
/// Row t of length n + 2 codes the values 0..<n with frequencies `cdf[v + 1] - cdf[v]`, and an
/// escape symbol n; value v of table t stands for the symbol `v + offsets[t]`.
public struct CDFTables: Sendable {
    /// Every row back to back; row t is `values[rowStarts[t]..<rowStarts[t + 1]]`.
    let values: [UInt32]
    let rowStarts: [Int]
    let offsets: [Int64]

    /// Checks and stores the tables.
    ///
    /// - Parameters:
    ///   - cdfs: one row per table, each at least 3 long, from 0 to 2^16, strictly increasing
    ///     (every symbol, escape included, has a non-zero frequency).
    ///   - offsets: one per table, subtracted from a symbol before coding.
    /// - Throws: `EntropyError.invalidTable` naming the first malformed table.
    public init(cdfs: [[Int32]], offsets: [Int32]) throws {
        guard offsets.count == cdfs.count else {
            throw EntropyError.invalidTable("\(cdfs.count) tables but \(offsets.count) offsets")
        }
        var values: [UInt32] = []
        var rowStarts = [0]
        for (t, cdf) in cdfs.enumerated() {
            guard cdf.count >= 3 else { throw EntropyError.invalidTable("table \(t): length \(cdf.count) below 3") }
            guard cdf.first == 0, cdf.last == Int32(RANS.total) else {
                throw EntropyError.invalidTable("table \(t): must run from 0 to \(RANS.total)")
            }
            for k in 1..<cdf.count where cdf[k - 1] >= cdf[k] {
                throw EntropyError.invalidTable("table \(t): not strictly increasing at \(k)")
            }
            values += cdf.map { UInt32($0) }
            rowStarts.append(values.count)
        }
        self.values = values
        self.rowStarts = rowStarts
        self.offsets = offsets.map(Int64.init)
    }

    /// Where one table lives in `values`, and its regular symbol count n (the escape is symbol n).
    struct Row {
        let base: Int
        let regularCount: Int
        let offset: Int64
    }

    /// The table `indexes[position]` names.
    /// - Throws: `EntropyError.invalidIndex(position)` when `index` is not a table number.
    @inline(__always)
    func row(_ index: Int32, position: Int) throws -> Row {
        let t = Int(index)
        guard t >= 0, t < offsets.count else { throw EntropyError.invalidIndex(position) }
        let base = rowStarts[t]
        return Row(base: base, regularCount: rowStarts[t + 1] - base - 2, offset: offsets[t])
    }

    /// Start and frequency of symbol s (0...n) of `row`.
    @inline(__always)
    func interval(_ s: Int, in row: Row) -> (start: UInt32, frequency: UInt32) {
        let start = values[row.base + s]
        return (start, values[row.base + s + 1] - start)
    }

    /// The symbol s of `row` with cdf[s] <= slot < cdf[s + 1], by binary search.
    /// REQUIRES: slot < 2^16 (then s exists, since cdf[0] = 0 and cdf[n + 1] = 2^16).
    @inline(__always)
    func symbol(containing slot: UInt32, in row: Row) -> Int {
        var low = 0
        var high = row.regularCount + 1
        while high - low > 1 {
            let middle = (low + high) >> 1
            if values[row.base + middle] <= slot { low = middle } else { high = middle }
        }
        return low
    }
}
