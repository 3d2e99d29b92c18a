/// rANS entropy coder over `CDFTables`; writes exactly the bytes of `Training/rans.py`.
///
/// rANS is Duda's asymmetric numeral systems ("Asymmetric numeral systems: entropy coding
/// combining speed of Huffman coding with compression rate of arithmetic coding",
/// arXiv:1311.2540, 2013) in the byte-wise form of Fabian Giesen's ryg_rans: a 32-bit state
/// kept in [2^23, 2^31) by moving whole bytes, frequencies summing to 2^16. All arithmetic is
/// on integers, so a stream decodes identically on every machine.
///
/// Stream layout (the decoder reads forward):
/// - 4 bytes: the decoder's initial state, little-endian, in [2^23, 2^31);
/// - the renormalization bytes, in the order the decoder consumes them.
///
/// The encoder codes symbols last to first, starting from state 2^23, so a decoder that has
/// decoded every symbol is back at 2^23 with every byte consumed; anything else is corrupt. An
/// empty symbol list is the 4 bytes `00 00 80 00`.
///
/// Symbol i uses the table `t = indexes[i]` and the value `v = symbols[i] - offsets[t]`. A value
/// in 0..<n (n = the row's length - 2) is coded with the table; any other value is coded as the
/// escape symbol n followed by its bypass form.
///
/// Bypass form: v maps to u >= 0 (v < 0 → -2v - 1, v >= n → 2(v - n)); u is written as one
/// uniform 4-bit rANS symbol holding g - 1, where g >= 1 is the number of 4-bit groups u needs,
/// then the g groups, least significant first, each a uniform 4-bit rANS symbol. g is capped at
/// 9 (36 bits), enough for any Int32 symbol with any Int32 offset (u < 2^33). A count above the
/// cap, a leading zero group or a value outside Int32 is corrupt: a hostile stream costs at most
/// 10 extra symbols per escape, and every symbol list has exactly one stream.
public enum RANS {
    /// Frequencies of every table sum to 2^precision.
    static let precision: UInt32 = 16
    static let total: UInt32 = 1 << precision
    /// The state lives in [lowerBound, lowerBound << 8).
    static let lowerBound: UInt32 = 1 << 23
    static let bypassBits = 4
    static let maxBypassGroups = 9
    /// Frequency of each of the 16 uniform bypass symbols.
    static let nibbleFrequency: UInt32 = total >> UInt32(bypassBits)

    /// The bypass integer u of an escaped value v (v < 0 or v >= n).
    @inline(__always)
    static func bypassValue(_ v: Int64, regularCount n: Int) -> UInt64 {
        UInt64(v < 0 ? -2 * v - 1 : 2 * (v - Int64(n)))
    }

    /// The value v of the bypass integer u; inverse of `bypassValue`.
    @inline(__always)
    static func escapedValue(_ u: UInt64, regularCount n: Int) -> Int64 {
        u & 1 == 1 ? -Int64((u + 1) >> 1) : Int64(n) + Int64(u >> 1)
    }
}
