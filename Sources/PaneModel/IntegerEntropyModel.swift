import PaneKernels

/// The exact integer entropy path (DESIGN.md, Determinism), mirroring
/// `Training/entropy_int.py` operation for operation: int16 activations, int16
/// weights with the input scales folded in, exact int16 GEMMs into int64 (pane_wgemm), fixed-point
/// requantisation `(acc·m + 2^(S−1)) >> S`, means in units of 2^−meanBits,
/// scale indexes by integer thresholds, latent residuals from an integer table.
/// Encoder and decoder run this same code, so they agree bit for bit on any CPU.
public struct IntegerEntropyModel: Sendable {
    /// A planar integer tensor (CHW).
    public struct IntTensor: Sendable, Equatable {
        public var channels: Int, height: Int, width: Int
        public var data: [Int64]
        public init(channels: Int, height: Int, width: Int, data: [Int64]) {
            precondition(data.count == channels * height * width)
            self.channels = channels; self.height = height; self.width = width; self.data = data
        }
        static func concatenate(_ parts: [IntTensor]) -> IntTensor {
            IntTensor(channels: parts.reduce(0) { $0 + $1.channels }, height: parts[0].height, width: parts[0].width,
                      data: parts.flatMap(\.data))
        }
        func channels(_ r: Range<Int>) -> IntTensor {
            let plane = height * width
            return IntTensor(channels: r.count, height: height, width: width,
                             data: Array(data[(r.lowerBound * plane)..<(r.upperBound * plane)]))
        }
    }

    /// One integer convolution or transposed convolution.
    struct Layer: Sendable {
        let transposed: Bool
        let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int
        /// conv: `out × in·k·k`; transposed: `(out·k·k) × in` (PyTorch's `in, out, k, k` transposed at load);
        /// rows `lda` long, zero-padded to an even length (the GEMM reads pairs).
        let weight: [Int16]
        let lda: Int
        /// Every weight within ±255 (models exported since 2026-11-30): the GEMM takes one
        /// multiply-add pass instead of two. The integers are the same either way.
        let narrow: Bool
        let bias: [Int64]
        let multiplier: [Int64], shift: [Int64]
        let relu: Bool

        /// The int64 accumulators (bias included).
        func accumulate(_ x: IntTensor) -> IntTensor {
            precondition(x.channels == inChannels)
            // Every layer input is clamped to ±32767 (activations, contexts, ẑ), so this never traps.
            let input = x.data.map { Int16($0) }
            return transposed ? accumulateTransposed(x, input) : accumulateConv(x, input)
        }

        private func accumulateConv(_ x: IntTensor, _ input: [Int16]) -> IntTensor {
            let (oh, ow) = outputSize(height: x.height, width: x.width)
            let plane = oh * ow, rows = inChannels * kernel * kernel
            let col = [Int16](unsafeUninitializedCapacity: rows * plane) { buffer, initialized in
                input.withUnsafeBufferPointer { src in
                    im2col(src.baseAddress!, channels: inChannels, height: x.height, width: x.width, into: buffer.baseAddress!)
                }
                initialized = rows * plane
            }
            return col.withUnsafeBufferPointer { accumulate(columns: $0.baseAddress!, height: oh, width: ow) }
        }

        func outputSize(height h: Int, width w: Int) -> (Int, Int) {
            transposed
                ? ((h - 1) * stride - 2 * padding + kernel + outputPadding, (w - 1) * stride - 2 * padding + kernel + outputPadding)
                : ((h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1)
        }

        /// The convolution's int64 accumulators (bias included) from its im2col matrix: `inChannels·k·k`
        /// rows of `height·width` int16, as `im2col` writes them.
        func accumulate(columns: UnsafePointer<Int16>, height oh: Int, width ow: Int) -> IntTensor {
            precondition(!transposed)
            let plane = oh * ow
            var out = product(m: outChannels, n: plane, k: inChannels * kernel * kernel, columns)
            for oc in 0..<outChannels {
                for i in (oc * plane)..<((oc + 1) * plane) { out[i] += bias[oc] }
            }
            return IntTensor(channels: outChannels, height: oh, width: ow, data: out)
        }

        /// im2col of `channels` planes of `height × width` int16 for this convolution: rows ordered
        /// (channel, ky, kx), every element written once (no zero fill first), channels split across
        /// threads (the values are integers, so nothing depends on the split). The rows of a channel
        /// depend on that channel only, so the matrix of a concatenation is the concatenation of the
        /// parts' matrices (`ColumnCache` relies on this).
        func im2col(_ src: UnsafePointer<Int16>, channels: Int, height h: Int, width w: Int,
                    into buffer: UnsafeMutablePointer<Int16>) {
            let k = kernel, s = stride, p = padding
            let (oh, ow) = outputSize(height: h, width: w)
            let plane = oh * ow
            let parts = Parallel.ranges(channels, grain: 1)
            Parallel.forEach(parts.count) { part in
                for ci in parts[part] {
                    let channel = src + ci * h * w
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let row = buffer + ((ci * k + ky) * k + kx) * plane
                            // Output columns whose input column is inside: ox in lo..<hi.
                            let lo = min(ow, max(0, floorDivision(p - kx + s - 1, s)))
                            let hi = max(lo, min(ow, floorDivision(w - 1 + p - kx, s) + 1))
                            for oy in 0..<oh {
                                let iy = oy * s - p + ky
                                let dst = row + oy * ow
                                guard iy >= 0 && iy < h else {
                                    dst.initialize(repeating: 0, count: ow)
                                    continue
                                }
                                dst.initialize(repeating: 0, count: lo)
                                (dst + hi).initialize(repeating: 0, count: ow - hi)
                                let line = channel + iy * w
                                for ox in lo..<hi { dst[ox] = line[ox * s - p + kx] }
                            }
                        }
                    }
                }
            }
        }

        private func accumulateTransposed(_ x: IntTensor, _ input: [Int16]) -> IntTensor {
            let h = x.height, w = x.width, k = kernel, s = stride, p = padding
            let (oh, ow) = outputSize(height: h, width: w)
            let plane = h * w, outPlane = oh * ow, rows = outChannels * k * k
            let col = input.withUnsafeBufferPointer { product(m: rows, n: plane, k: inChannels, $0.baseAddress!) }
            var out = [Int64](repeating: 0, count: outChannels * outPlane)
            for oc in 0..<outChannels {
                for i in 0..<outPlane { out[oc * outPlane + i] = bias[oc] }
                for ky in 0..<k {
                    for kx in 0..<k {
                        let r = ((oc * k + ky) * k + kx) * plane
                        for iy in 0..<h {
                            let oy = iy * s - p + ky
                            if oy < 0 || oy >= oh { continue }
                            for ix in 0..<w {
                                let ox = ix * s - p + kx
                                if ox >= 0 && ox < ow { out[oc * outPlane + oy * ow + ox] += col[r + iy * w + ix] }
                            }
                        }
                    }
                }
            }
            return IntTensor(channels: outChannels, height: oh, width: ow, data: out)
        }

        /// weight (m × k) · b (k × n), exact.
        private func product(m: Int, n: Int, k: Int, _ b: UnsafePointer<Int16>) -> [Int64] {
            [Int64](unsafeUninitializedCapacity: m * n) { c, initialized in
                weight.withUnsafeBufferPointer { a in
                    exactIntegerGEMM(m: m, n: n, k: k, a.baseAddress!, lda: lda, b, ldb: n, c.baseAddress!, ldc: n,
                                     narrow: narrow)
                }
                initialized = m * n
            }
        }

        /// Accumulate, requantise, clamp (to [0, max] after ReLU, else [−max, max]).
        func callAsFunction(_ x: IntTensor) -> IntTensor {
            let maxValue = IntegerEntropyModel.activationMax
            return IntegerEntropyModel.requantize(accumulate(x), multiplier, shift,
                                                  lo: relu ? 0 : -maxValue, hi: maxValue)
        }
    }

    struct Slice: Sendable {
        let meanHidden: Layer, meanFinal: Layer
        let scaleHidden: Layer, scaleFinal: Layer
        /// `size × (levels − 1)`: σ > √(table[i]·table[i+1]) ⟺ acc > thresholds[c][i] (nearest level in log scale).
        let thresholds: [Int64]
        let lrpHidden: Layer, lrpFinal: Layer
        let yMultiplier: [Int64], yShift: [Int64]
    }

    static let activationMax: Int64 = 32767
    public let meanBits: Int
    let lrpBits: Int, lrpRange: Int64
    let h_s: [Layer]
    let slices: [Slice]
    let lrpTable: [Int64]
    public let scaleLevels: Int

    /// (acc·m + 2^(S−1)) >> S per channel, clamped to [lo, hi].
    static func requantize(_ acc: IntTensor, _ m: [Int64], _ shift: [Int64], lo: Int64, hi: Int64) -> IntTensor {
        var out = acc
        let plane = acc.height * acc.width
        for c in 0..<acc.channels {
            let mc = m[c], sc = shift[c], round = Int64(1) << (sc - 1)
            for i in (c * plane)..<((c + 1) * plane) {
                out.data[i] = min(max((acc.data[i] &* mc &+ round) >> sc, lo), hi)
            }
        }
        return out
    }

    /// int16 hyper features (2M channels) from the integer ẑ.
    public func hyper(_ zHat: IntTensor) -> IntTensor {
        var h = zHat
        for i in 0..<h.data.count { h.data[i] = min(max(h.data[i], -Self.activationMax), Self.activationMax) }
        for layer in h_s { h = layer(h) }
        return h
    }

    /// Means (units of 2^−meanBits) and scale indexes of slice `i`, from the hyper features and
    /// the int16 contexts of the slices before it.
    public func sliceParameters(_ i: Int, hyper: IntTensor, previous: [IntTensor]) -> (mean: [Int64], scaleIndex: [Int32]) {
        let m = hyper.channels / 2
        let s = slices[i]
        let meanIn = IntTensor.concatenate([hyper.channels(0..<m)] + previous)
        let scaleIn = IntTensor.concatenate([hyper.channels(m..<(2 * m))] + previous)
        let mu = Self.requantize(s.meanFinal.accumulate(s.meanHidden(meanIn)), s.meanFinal.multiplier, s.meanFinal.shift,
                                 lo: -(1 << 40), hi: 1 << 40)
        let acc = s.scaleFinal.accumulate(s.scaleHidden(scaleIn))
        let plane = acc.height * acc.width, levels = scaleLevels - 1
        var index = [Int32](repeating: 0, count: acc.data.count)
        for c in 0..<acc.channels {
            let t = Array(s.thresholds[(c * levels)..<((c + 1) * levels)])
            for j in (c * plane)..<((c + 1) * plane) {
                let a = acc.data[j]
                var n: Int32 = 0
                for v in t where a > v { n += 1 }
                index[j] = n
            }
        }
        return (mu.data, index)
    }

    /// The latent residual (units of 2^−meanBits) of slice `i` given its ŷ context.
    func residual(_ i: Int, hyper: IntTensor, previous: [IntTensor], context: IntTensor) -> [Int64] {
        let m = hyper.channels / 2
        let s = slices[i]
        let input = IntTensor.concatenate([hyper.channels(0..<m)] + previous + [context])
        let r = Self.requantize(s.lrpFinal.accumulate(s.lrpHidden(input)), s.lrpFinal.multiplier, s.lrpFinal.shift,
                                lo: -lrpRange, hi: lrpRange)
        return r.data.map { lrpTable[Int($0 + lrpRange)] }
    }

    /// ŷ in fixed point → the int16 context that later slices read.
    func context(_ i: Int, _ yHat: IntTensor) -> IntTensor {
        Self.requantize(yHat, slices[i].yMultiplier, slices[i].yShift, lo: -Self.activationMax, hi: Self.activationMax)
    }

    /// The slice loop shared by encoder and decoder. `symbols(i, means, scaleIndexes)` returns the
    /// integer symbols q of slice i (the encoder computes them from y, the decoder reads them).
    /// Returns ŷ in fixed point (units of 2^−meanBits), all slices concatenated.
    ///
    /// Computes what `sliceParameters` and `residual` compute, but builds each input's im2col
    /// matrix once: every slice network's first layer reads [hyper half, contexts of earlier
    /// slices (, this slice's context)], a prefix of one growing matrix (`ColumnCache`), instead
    /// of concatenating and unfolding it again for each of the 3 networks of every slice.
    public func runSlices(hyper: IntTensor, sliceSize: Int,
                          symbols: (Int, [Int64], [Int32]) throws -> [Int32]) rethrows -> IntTensor {
        let m = hyper.channels / 2, count = slices.count
        let unfold = slices[0].meanHidden  // every hidden layer is a 3×3, stride 1, padding 1 convolution
        let meanColumns = ColumnCache(unfold, rows: m + sliceSize * count, height: hyper.height, width: hyper.width)
        let scaleColumns = ColumnCache(unfold, rows: m + sliceSize * max(0, count - 1), height: hyper.height,
                                       width: hyper.width)
        meanColumns.append(hyper.channels(0..<m))
        scaleColumns.append(hyper.channels(m..<(2 * m)))
        var outputs: [IntTensor] = []
        for i in 0..<count {
            let s = slices[i]
            let mu = Self.requantize(s.meanFinal.accumulate(meanColumns.layer(s.meanHidden)), s.meanFinal.multiplier,
                                     s.meanFinal.shift, lo: -(1 << 40), hi: 1 << 40).data
            let index = scaleIndexes(i, s.scaleFinal.accumulate(scaleColumns.layer(s.scaleHidden)))
            let q = try symbols(i, mu, index)
            precondition(q.count == mu.count, "slice \(i): \(q.count) symbols for \(mu.count) positions")
            var yHat = IntTensor(channels: sliceSize, height: hyper.height, width: hyper.width,
                                 data: zip(q, mu).map { Int64($0) << Int64(meanBits) + $1 })
            meanColumns.append(context(i, yHat))
            let r = Self.requantize(s.lrpFinal.accumulate(meanColumns.layer(s.lrpHidden)), s.lrpFinal.multiplier,
                                    s.lrpFinal.shift, lo: -lrpRange, hi: lrpRange)
            for j in 0..<yHat.data.count { yHat.data[j] += lrpTable[Int(r.data[j] + lrpRange)] }
            let after = context(i, yHat)  // what later slices read: ŷ with its residual
            if i + 1 < count { scaleColumns.append(after) }
            meanColumns.replaceLast(after)
            outputs.append(yHat)
        }
        return .concatenate(outputs)
    }

    /// Scale indexes from the final scale layer's accumulators: the number of thresholds exceeded
    /// (thresholds ascend, so a binary search gives the same count).
    func scaleIndexes(_ i: Int, _ acc: IntTensor) -> [Int32] {
        let plane = acc.height * acc.width, levels = scaleLevels - 1
        var index = [Int32](repeating: 0, count: acc.data.count)
        slices[i].thresholds.withUnsafeBufferPointer { thresholds in
            for c in 0..<acc.channels {
                let t = thresholds.baseAddress! + c * levels
                for j in (c * plane)..<((c + 1) * plane) {
                    let a = acc.data[j]
                    var lo = 0, hi = levels  // count of t[0..<levels] below a: first n with t[n] >= a
                    while lo < hi {
                        let mid = (lo + hi) >> 1
                        if t[mid] < a { lo = mid + 1 } else { hi = mid }
                    }
                    index[j] = Int32(lo)
                }
            }
        }
        return index
    }
}


extension IntegerEntropyModel {
    init(_ spec: Manifest.EntropyInt, config: Manifest.Config, slices sliceSpec: Manifest.Slices,
         scaleLevels: Int, store: WeightStore) throws {
        meanBits = spec.mean_bits
        lrpBits = spec.lrp_bits
        lrpRange = Int64(spec.lrp_range)
        self.scaleLevels = scaleLevels
        guard (1...20).contains(meanBits), lrpRange > 0, lrpRange < 1 << 20 else {
            throw ModelError.invalidField("entropy_int", "mean_bits \(meanBits) / lrp_range \(lrpRange) out of range")
        }
        func layer(_ name: String, transposed: Bool, cin: Int, cout: Int, k: Int, stride: Int, padding: Int,
                   outputPadding: Int, relu: Bool, requantized: Bool = true) throws -> Layer {
            // Ranges first: a hostile manifest must not reach the kernels (a stride of −2 or 2^40
            // hung or aborted them), and the layer must map the sizes the codec relies on.
            guard (1...(1 << 14)).contains(cin), (1...(1 << 14)).contains(cout), (1...15).contains(k),
                  (1...8).contains(stride), padding == k / 2,
                  transposed ? outputPadding == stride - 1 : outputPadding == 0 else {
                throw ModelError.invalidField(name, "in \(cin), out \(cout), kernel \(k), stride \(stride), padding \(padding), "
                                              + "output padding \(outputPadding): out of range")
            }
            let w = try store.smallInts("\(name).weight", transposed ? [cin, cout, k, k] : [cout, cin, k, k])
            let bias = try store.int64s("\(name).bias", [cout])
            guard bias.allSatisfy({ abs($0) < 1 << 40 }) else { throw ModelError.invalidField(name, "bias exceeds 2^40") }
            var m: [Int64] = [], sh: [Int64] = []
            if requantized {
                m = try store.ints("\(name).multiplier", [cout]).values.map(Int64.init)
                sh = try store.ints("\(name).shift", [cout]).values.map(Int64.init)
                guard m.allSatisfy({ $0 >= 1 << 14 && $0 < 1 << 15 }), sh.allSatisfy({ $0 >= 1 && $0 <= 62 }) else {
                    throw ModelError.invalidField(name, "requantisation multiplier or shift out of range")
                }
            }
            // |w|, |a| ≤ 2^15 and K terms: every sum is below 2^(30 + log2 K), far inside int64.
            guard cin * k * k < 1 << 22 else { throw ModelError.invalidField(name, "\(cin * k * k) terms per output are too many") }
            // Rows padded with a zero to an even length: the GEMM reads A in pairs. A transposed
            // layer's rows are PyTorch's (in, out, k, k) weight transposed to (out·k·k) × in.
            let columns = transposed ? cin : cin * k * k, rows = w.count / columns, lda = (columns + 1) & ~1
            var padded = [Int16](repeating: 0, count: rows * lda)
            w.withUnsafeBufferPointer { w in
                padded.withUnsafeMutableBufferPointer { out in
                    if transposed {
                        for ci in 0..<cin { for r in 0..<rows { out[r * lda + ci] = w[ci * rows + r] } }
                    } else {
                        for r in 0..<rows { for c in 0..<columns { out[r * lda + c] = w[r * columns + c] } }
                    }
                }
            }
            return Layer(transposed: transposed, inChannels: cin, outChannels: cout, kernel: k, stride: stride,
                         padding: padding, outputPadding: outputPadding, weight: padded, lda: lda,
                         narrow: padded.allSatisfy { $0 >= -255 && $0 <= 255 }, bias: bias,
                         multiplier: m, shift: sh, relu: relu)
        }
        h_s = try spec.h_s.enumerated().map { n, l in
            try layer("int.h_s.\(n)", transposed: l.type == "deconv", cin: l.in, cout: l.out, k: l.kernel,
                      stride: l.stride, padding: l.padding, outputPadding: l.output_padding, relu: l.relu)
        }
        // h_s chains Nz × 1 × 1 to 2M × 4 × 4 (one ẑ to sixteen latent positions, as g_a / h_a cut them).
        var (c, h, w) = (config.Nz, 1, 1)
        for (n, layer) in h_s.enumerated() {
            guard layer.inChannels == c else {
                throw ModelError.invalidField("entropy_int.h_s[\(n)]", "takes \(layer.inChannels) channels, the layer before gives \(c)")
            }
            (h, w) = layer.outputSize(height: h, width: w)
            c = layer.outChannels
        }
        guard (c, h, w) == (2 * config.M, 4, 4) else {
            throw ModelError.invalidField("entropy_int.h_s", "maps Nz × 1 × 1 to \(c)×\(h)×\(w), not \(2 * config.M)×4×4")
        }
        let m = config.M, size = sliceSpec.size, hidden = spec.slice_hidden
        guard (1...(1 << 12)).contains(hidden) else { throw ModelError.invalidField("entropy_int.slice_hidden", "\(hidden) is out of range") }
        slices = try (0..<sliceSpec.count).map { i in
            let cin = m + size * i
            func pair(_ net: String, _ cin: Int, scale: Bool = false) throws -> (Layer, Layer) {
                (try layer("int.\(net).\(i).0", transposed: false, cin: cin, cout: hidden, k: 3, stride: 1, padding: 1,
                           outputPadding: 0, relu: true),
                 try layer("int.\(net).\(i).1", transposed: false, cin: hidden, cout: size, k: 3, stride: 1, padding: 1,
                           outputPadding: 0, relu: false, requantized: !scale))
            }
            let (mh, mf) = try pair("cc_mean", cin)
            let (sh, sf) = try pair("cc_scale", cin, scale: true)
            let (lh, lf) = try pair("lrp", cin + size)
            let thresholds = try store.int64s("int.cc_scale.\(i).thresholds", [size, scaleLevels - 1])
            let levels = scaleLevels - 1
            for c in 0..<size where levels > 1 {
                guard (1..<levels).allSatisfy({ thresholds[c * levels + $0 - 1] <= thresholds[c * levels + $0] }) else {
                    throw ModelError.invalidField("int.cc_scale.\(i).thresholds", "not ascending")
                }
            }
            let ym = try store.ints("int.yhat.\(i).multiplier", [size]).values.map(Int64.init)
            let ys = try store.ints("int.yhat.\(i).shift", [size]).values.map(Int64.init)
            guard ys.allSatisfy({ $0 >= 1 && $0 <= 62 }) else { throw ModelError.invalidField("int.yhat.\(i).shift", "out of range") }
            return Slice(meanHidden: mh, meanFinal: mf, scaleHidden: sh, scaleFinal: sf, thresholds: thresholds,
                         lrpHidden: lh, lrpFinal: lf, yMultiplier: ym, yShift: ys)
        }
        lrpTable = try store.ints("int.lrp_table", [2 * spec.lrp_range + 1]).values.map(Int64.init)
    }
}

/// The im2col matrix of a growing channel concatenation [hyper half, context 0, context 1, …] for
/// the slice networks' first layers (all 3×3, stride 1, padding 1): appending a part unfolds only
/// that part, and a layer reading the first `inChannels` channels multiplies a prefix of the rows.
private final class ColumnCache {
    let unfold: IntegerEntropyModel.Layer
    let height: Int, width: Int, capacity: Int
    let storage: UnsafeMutablePointer<Int16>
    private(set) var channels = 0
    private var lastChannels = 0

    init(_ unfold: IntegerEntropyModel.Layer, rows: Int, height: Int, width: Int) {
        precondition(unfold.kernel == 3 && unfold.stride == 1 && unfold.padding == 1 && !unfold.transposed)
        self.unfold = unfold
        self.height = height; self.width = width; self.capacity = rows
        storage = .allocate(capacity: max(1, rows * 9 * height * width))
    }

    deinit { storage.deallocate() }

    private var rowLength: Int { 9 * height * width }

    func append(_ x: IntegerEntropyModel.IntTensor) {
        precondition(channels + x.channels <= capacity && x.height == height && x.width == width)
        // Every slice input is clamped to ±32767 (hyper features, contexts), so this never traps.
        let input = x.data.map { Int16($0) }
        input.withUnsafeBufferPointer {
            unfold.im2col($0.baseAddress!, channels: x.channels, height: height, width: width,
                          into: storage + channels * rowLength)
        }
        channels += x.channels
        lastChannels = x.channels
    }

    /// Unfolds `x` over the part appended last (same channel count).
    func replaceLast(_ x: IntegerEntropyModel.IntTensor) {
        precondition(x.channels == lastChannels)
        channels -= lastChannels
        append(x)
    }

    /// `layer` (reading the first `layer.inChannels` channels) applied, requantised and clamped.
    func layer(_ layer: IntegerEntropyModel.Layer) -> IntegerEntropyModel.IntTensor {
        precondition(layer.inChannels <= channels && layer.kernel == 3 && layer.stride == 1 && layer.padding == 1)
        let acc = layer.accumulate(columns: storage, height: height, width: width)
        return IntegerEntropyModel.requantize(acc, layer.multiplier, layer.shift,
                                              lo: layer.relu ? 0 : -IntegerEntropyModel.activationMax,
                                              hi: IntegerEntropyModel.activationMax)
    }
}
