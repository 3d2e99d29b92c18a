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
            let h = x.height, w = x.width, k = kernel, s = stride, p = padding
            let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
            let plane = oh * ow, rows = inChannels * k * k
            // im2col, every element written once (no zero fill first), input channels split
            // across threads; the values are integers, so nothing depends on the split.
            let col = [Int16](unsafeUninitializedCapacity: rows * plane) { buffer, initialized in
                input.withUnsafeBufferPointer { src in
                    let parts = Parallel.ranges(inChannels, grain: 1)
                    Parallel.forEach(parts.count) { part in
                        for ci in parts[part] {
                            let channel = src.baseAddress! + ci * h * w
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let row = buffer.baseAddress! + ((ci * k + ky) * k + kx) * plane
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
                initialized = rows * plane
            }
            var out = product(m: outChannels, n: plane, k: rows, col)
            for oc in 0..<outChannels {
                for i in (oc * plane)..<((oc + 1) * plane) { out[i] += bias[oc] }
            }
            return IntTensor(channels: outChannels, height: oh, width: ow, data: out)
        }

        private func accumulateTransposed(_ x: IntTensor, _ input: [Int16]) -> IntTensor {
            let h = x.height, w = x.width, k = kernel, s = stride, p = padding
            let oh = (h - 1) * s - 2 * p + k + outputPadding, ow = (w - 1) * s - 2 * p + k + outputPadding
            let plane = h * w, outPlane = oh * ow, rows = outChannels * k * k
            let col = product(m: rows, n: plane, k: inChannels, input)
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
        private func product(m: Int, n: Int, k: Int, _ b: [Int16]) -> [Int64] {
            [Int64](unsafeUninitializedCapacity: m * n) { c, initialized in
                weight.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { bp in
                        exactIntegerGEMM(m: m, n: n, k: k, a.baseAddress!, lda: lda, bp.baseAddress!, ldb: n,
                                         c.baseAddress!, ldc: n)
                    }
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
    public func runSlices(hyper: IntTensor, sliceSize: Int,
                          symbols: (Int, [Int64], [Int32]) throws -> [Int32]) rethrows -> IntTensor {
        var previous: [IntTensor] = [], outputs: [IntTensor] = []
        for i in 0..<slices.count {
            let (mu, index) = sliceParameters(i, hyper: hyper, previous: previous)
            let q = try symbols(i, mu, index)
            precondition(q.count == mu.count, "slice \(i): \(q.count) symbols for \(mu.count) positions")
            var yHat = IntTensor(channels: sliceSize, height: hyper.height, width: hyper.width,
                                 data: zip(q, mu).map { Int64($0) << Int64(meanBits) + $1 })
            let r = residual(i, hyper: hyper, previous: previous, context: context(i, yHat))
            for j in 0..<yHat.data.count { yHat.data[j] += r[j] }
            previous.append(context(i, yHat))
            outputs.append(yHat)
        }
        return .concatenate(outputs)
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
            let raw = try store.ints("\(name).weight", transposed ? [cin, cout, k, k] : [cout, cin, k, k]).values
            var w = raw.map(Int64.init)
            if transposed {
                let kk = k * k
                var t = [Int64](repeating: 0, count: w.count)
                for ci in 0..<cin { for r in 0..<(cout * kk) { t[r * cin + ci] = w[ci * cout * kk + r] } }
                w = t
            }
            guard w.allSatisfy({ abs($0) <= IntegerEntropyModel.activationMax }) else {
                throw ModelError.invalidField(name, "weights exceed int16")
            }
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
            // Rows padded with a zero to an even length: the GEMM reads A in pairs.
            let columns = transposed ? cin : cin * k * k, lda = (columns + 1) & ~1
            var padded = [Int16](repeating: 0, count: (w.count / columns) * lda)
            for r in 0..<(w.count / columns) {
                for c in 0..<columns { padded[r * lda + c] = Int16(w[r * columns + c]) }
            }
            return Layer(transposed: transposed, inChannels: cin, outChannels: cout, kernel: k, stride: stride,
                         padding: padding, outputPadding: outputPadding, weight: padded, lda: lda, bias: bias,
                         multiplier: m, shift: sh, relu: relu)
        }
        h_s = try spec.h_s.enumerated().map { n, l in
            try layer("int.h_s.\(n)", transposed: l.type == "deconv", cin: l.in, cout: l.out, k: l.kernel,
                      stride: l.stride, padding: l.padding, outputPadding: l.output_padding, relu: l.relu)
        }
        let m = config.M, size = sliceSpec.size, hidden = spec.slice_hidden
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
            let ym = try store.ints("int.yhat.\(i).multiplier", [size]).values.map(Int64.init)
            let ys = try store.ints("int.yhat.\(i).shift", [size]).values.map(Int64.init)
            guard ys.allSatisfy({ $0 >= 1 && $0 <= 62 }) else { throw ModelError.invalidField("int.yhat.\(i).shift", "out of range") }
            return Slice(meanHidden: mh, meanFinal: mf, scaleHidden: sh, scaleFinal: sf, thresholds: thresholds,
                         lrpHidden: lh, lrpFinal: lf, yMultiplier: ym, yShift: ys)
        }
        lrpTable = try store.ints("int.lrp_table", [2 * spec.lrp_range + 1]).values.map(Int64.init)
    }
}
