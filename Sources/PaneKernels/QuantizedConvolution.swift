import CPaneKernels

/// How an int8 layer reads its fp32 input: per input channel c,
/// `q = clamp(round_half_even(x · (1 / inScale[c])) + zero[c], 0, 255)`, with `1 / inScale[c]`
/// rounded to fp32 (Training/quantize.py, `quantize_activation`, does the same in fp32).
public struct InputQuantization: Sendable {
    public let inScale: [Float]
    public let zero: [Int32]
    let inverse: [Float]

    public init(inScale: [Float], zero: [Int32]) {
        precondition(inScale.count == zero.count)
        precondition(inScale.allSatisfy { $0.isFinite && $0 > 0 } && zero.allSatisfy { (0...255).contains($0) })
        self.inScale = inScale; self.zero = zero
        self.inverse = inScale.map { 1 / $0 }
    }

    /// The codes of GELU(x): the bytes `codes(Activation.gelu(x))` gives, in one pass
    /// (pane_gelu_quantize_u8; equal when the planes are whole vectors of 8, as attention maps are).
    func geluCodes(_ x: Tensor) -> [UInt8] {
        precondition(x.planeSize % 8 == 0, "GELU codes need planes of whole 8-float vectors")
        return perChannel(x, pane_gelu_quantize_u8)
    }

    /// The uint8 codes of every channel plane of x, channels split across threads.
    func codes(_ x: Tensor) -> [UInt8] {
        perChannel(x, pane_quantize_u8)
    }

    /// `kernel(plane, n, inverse[c], zero[c], codes)` on every channel plane c of x, channels
    /// split across threads.
    private func perChannel(_ x: Tensor,
                            _ kernel: (UnsafePointer<Float>?, Int, Float, Float, UnsafeMutablePointer<UInt8>?) -> Void)
        -> [UInt8] {
        let plane = x.planeSize
        var q = [UInt8].scratch(count: x.data.count)
        x.data.withUnsafeBufferPointer { src in
            q.withUnsafeMutableBufferPointer { dst in
                let parts = Parallel.ranges(x.channels, grain: 1)
                Parallel.forEach(parts.count) { part in
                    for c in parts[part] {
                        kernel(src.baseAddress! + c * plane, plane, inverse[c], Float(zero[c]), dst.baseAddress! + c * plane)
                    }
                }
            }
        }
        return q
    }
}

/// Rows of int8 weights padded with zeros to a multiple of 4 columns (pane_igemm's layout).
struct PaddedInt8Matrix: Sendable {
    let rows: Int, columns: Int, stride: Int
    let values: [Int8]

    /// The rows of a row-major `rows × columns` matrix.
    init(rows: Int, columns: Int, rowMajor values: [Int8]) {
        precondition(values.count == rows * columns)
        self.init(rows: rows, columns: columns) { v, stride in
            values.withUnsafeBufferPointer { src in
                for r in 0..<rows { (v + r * stride).update(from: src.baseAddress! + r * columns, count: columns) }
            }
        }
    }

    /// `fill(values, stride)` writes the rows (the padding after each row's columns stays 0).
    init(rows: Int, columns: Int, fill: (UnsafeMutablePointer<Int8>, Int) -> Void) {
        self.rows = rows; self.columns = columns
        let stride = max(4, (columns + 3) / 4 * 4)   // never empty, even for a phase without taps
        self.stride = stride
        var v = [Int8](repeating: 0, count: rows * stride)
        v.withUnsafeMutableBufferPointer { fill($0.baseAddress!, stride) }
        values = v
    }

    /// Σ w · zero over each row: the zero points' share of every output, for columns ordered
    /// input channel by input channel, `taps` columns each (`zero.count · taps == columns`).
    func zeroPointCorrection(_ zero: [Int32], taps: Int) -> [Int32] {
        precondition(zero.count * taps == columns)
        return values.withUnsafeBufferPointer { w in
            (0..<rows).map { r in
                var sum: Int32 = 0
                for ci in 0..<zero.count {
                    var channel: Int32 = 0
                    for n in 0..<taps { channel += Int32(w[r * stride + ci * taps + n]) }
                    sum += channel * zero[ci]
                }
                return sum
            }
        }
    }
}

/// ⌊a / b⌋ for b > 0 (Swift's `/` truncates toward zero).
@inline(__always)
public func floorDivision(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? a / b : -((-a + b - 1) / b)
}

/// C = A · B in int32 over column ranges split across threads (exact, so the split is free).
func integerGEMM(_ a: PaddedInt8Matrix, _ b: UnsafePointer<UInt8>, n: Int, ldb: Int,
                 _ c: UnsafeMutablePointer<Int32>, ldc: Int) {
    a.values.withUnsafeBufferPointer { ap in
        Parallel.forEachColumnRange(m: a.rows, n: n, k: a.columns, grain: 64) { r in
            pane_igemm(Int32(a.rows), Int32(r.count), Int32(a.columns), ap.baseAddress!, Int32(a.stride),
                       b + r.lowerBound, Int32(ldb), c + r.lowerBound, Int32(ldc))
        }
    }
}

/// The same product dequantized in the GEMM's epilogue:
/// `c[i][j] = Float(Σ − correction[i]) · scale[i] + bias[i]`.
func integerGEMM(_ a: PaddedInt8Matrix, _ b: UnsafePointer<UInt8>, n: Int, ldb: Int,
                 _ c: UnsafeMutablePointer<Float>, ldc: Int,
                 correction: [Int32], scale: [Float], bias: [Float]) {
    a.values.withUnsafeBufferPointer { ap in
        correction.withUnsafeBufferPointer { z in
            scale.withUnsafeBufferPointer { sc in
                bias.withUnsafeBufferPointer { bi in
                    Parallel.forEachColumnRange(m: a.rows, n: n, k: a.columns, grain: 64) { r in
                        pane_igemm_dequantize(Int32(a.rows), Int32(r.count), Int32(a.columns), ap.baseAddress!,
                                              Int32(a.stride), b + r.lowerBound, Int32(ldb), c + r.lowerBound,
                                              Int32(ldc), z.baseAddress!, sc.baseAddress!, bi.baseAddress!)
                    }
                }
            }
        }
    }
}

/// A convolution with int8 weights on uint8-quantized input (Training/quantize.py, QuantConv):
/// `y[o] = (Σ w_q · (x_q − zero)) · outScale[o] + bias[o]`, the sum exact in int32.
public struct Conv2DInt8: Sendable {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    public let input: InputQuantization
    let weight: PaddedInt8Matrix
    /// Σ w_q · zero over each output channel's taps (zero padding is x_q = zero, so it is the
    /// same at every position).
    let correction: [Int32]
    public let outScale: [Float], bias: [Float]

    /// `weight`: `outChannels × inChannels × kernel × kernel` (PyTorch's order), in −127...127.
    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int,
                weight: [Int8], outScale: [Float], bias: [Float], input: InputQuantization) {
        let rows = inChannels * kernel * kernel
        precondition(weight.count == outChannels * rows && outScale.count == outChannels && bias.count == outChannels)
        precondition(input.zero.count == inChannels)
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.padding = padding
        self.input = input; self.outScale = outScale; self.bias = bias
        let matrix = PaddedInt8Matrix(rows: outChannels, columns: rows, rowMajor: weight)
        self.weight = matrix
        correction = matrix.zeroPointCorrection(input.zero, taps: kernel * kernel)
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + 2 * padding - kernel) / stride + 1, (width + 2 * padding - kernel) / stride + 1)
    }

    /// The exact sums Σ w_q · (x_q − zero), `outChannels × outHeight × outWidth`.
    public func accumulators(_ x: Tensor) -> [Int32] {
        subtracting(correction, from: products(x), channels: outChannels)
    }

    /// Σ w_q · x_q (the zero points not yet taken out).
    func products(_ x: Tensor) -> [Int32] {
        let (oh, ow) = outputSize(height: x.height, width: x.width)
        var acc = [Int32].scratch(count: outChannels * oh * ow)   // every band's GEMM writes its columns
        acc.withUnsafeMutableBufferPointer { dst in
            bands(x) { col, n, oy0 in
                integerGEMM(weight, col, n: n, ldb: n, dst.baseAddress! + oy0 * ow, ldc: oh * ow)
            }
        }
        return acc
    }

    /// The layer's output: the GEMM's epilogue dequantizes (pane_igemm_dequantize), the same
    /// floats as `Float(accumulator) · outScale + bias`, written once.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (oh, ow) = outputSize(height: x.height, width: x.width)
        var out = [Float].scratch(count: outChannels * oh * ow)
        out.withUnsafeMutableBufferPointer { dst in
            bands(x) { col, n, oy0 in
                integerGEMM(weight, col, n: n, ldb: n, dst.baseAddress! + oy0 * ow, ldc: oh * ow,
                            correction: correction, scale: outScale, bias: bias)
            }
        }
        return Tensor(channels: outChannels, height: oh, width: ow, data: out)
    }

    /// Quantizes x, then hands `body(columns, n, firstOutputRow)` the im2col matrix of each band of
    /// output rows (bands bound the column buffer at 8 MB).
    private func bands(_ x: Tensor, _ body: (UnsafePointer<UInt8>, Int, Int) -> Void) {
        precondition(x.channels == inChannels, "conv expects \(inChannels) channels, got \(x.channels)")
        let (oh, ow) = outputSize(height: x.height, width: x.width)
        let rows = inChannels * kernel * kernel
        let codes = input.codes(x)
        let bandRows = max(1, min(oh, (1 << 23) / max(1, rows * ow)))
        var col = [UInt8].scratch(count: rows * bandRows * ow)
        codes.withUnsafeBufferPointer { src in
            col.withUnsafeMutableBufferPointer { colBuf in
                var oy0 = 0
                while oy0 < oh {
                    let band = min(bandRows, oh - oy0)
                    let n = band * ow
                    im2col(src.baseAddress!, x.height, x.width, oy0, band, ow, colBuf.baseAddress!, n)
                    body(colBuf.baseAddress!, n, oy0)
                    oy0 += band
                }
            }
        }
    }

    private func im2col(_ src: UnsafePointer<UInt8>, _ h: Int, _ w: Int, _ oy0: Int, _ band: Int, _ ow: Int,
                        _ col: UnsafeMutablePointer<UInt8>, _ n: Int) {
        Im2colChannel<UInt8>(height: h, width: w, kernel: kernel, stride: stride, padding: padding,
                             firstOutputRow: oy0, band: band, outWidth: ow)
            .write(channels: inChannels, src, pad: { UInt8(input.zero[$0]) }, into: col, rowStride: n)
    }
}

/// A transposed convolution with int8 weights on uint8-quantized input, computed as `stride²`
/// ordinary convolutions ("phases", sub-pixel form): the outputs `(s·a + py, s·b + px)` of phase
/// (py, px) take only the taps `ky ≡ py + padding (mod s)`, `kx` likewise, from input pixel
/// `(a + dy, b + dx)`, `dy = (py + padding − ky) / s`. Each phase is an im2col + int8 GEMM with the
/// dequantization in its epilogue, and one pass interleaves the phases into the output: no col2im
/// scatter-add, every sum `Σ w_q · (x_q − zero)` exact in int32 as before (inputs outside the
/// image read the zero point, so they add nothing and the correction is the same everywhere).
public struct Deconv2DInt8: Sendable {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int
    public let input: InputQuantization
    public let outScale: [Float], bias: [Float]
    let phases: [Phase]

    /// One output phase: its taps' input offsets and weights `outChannels × (inChannels·taps)`.
    struct Phase: Sendable {
        let py: Int, px: Int
        let dy: [Int], dx: [Int]
        let weight: PaddedInt8Matrix
        /// Σ w_q · zero over the phase's taps, per output channel.
        let correction: [Int32]
    }

    /// `weight` in PyTorch's layout `inChannels × outChannels × kernel × kernel`, in −127...127.
    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int,
                weight: [Int8], outScale: [Float], bias: [Float], input: InputQuantization) {
        let k = kernel, kk = k * k
        precondition(weight.count == outChannels * inChannels * kk && outScale.count == outChannels && bias.count == outChannels)
        precondition(input.zero.count == inChannels && stride >= 1)
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.padding = padding; self.outputPadding = outputPadding
        self.input = input; self.outScale = outScale; self.bias = bias
        func taps(_ phase: Int) -> [Int] {
            (0..<k).filter { ((phase + padding - $0) % stride + stride) % stride == 0 }
        }
        var phases: [Phase] = []
        for py in 0..<stride {
            for px in 0..<stride {
                let ky = taps(py), kx = taps(px), t = ky.count * kx.count
                let matrix = PaddedInt8Matrix(rows: outChannels, columns: inChannels * t) { values, stride in
                    weight.withUnsafeBufferPointer { src in
                        gatherPhaseWeights(src.baseAddress!, inChannels: inChannels, outChannels: outChannels, kernel: k,
                                           ky: ky, kx: kx, into: values, rowStride: stride)
                    }
                }
                phases.append(Phase(py: py, px: px, dy: ky.map { (py + padding - $0) / stride },
                                    dx: kx.map { (px + padding - $0) / stride },
                                    weight: matrix, correction: matrix.zeroPointCorrection(input.zero, taps: t)))
            }
        }
        self.phases = phases
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height - 1) * stride - 2 * padding + kernel + outputPadding,
         (width - 1) * stride - 2 * padding + kernel + outputPadding)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (oh, ow) = outputSize(height: x.height, width: x.width)
        let out: [Float] = run(x) { phase, col, n, dst, ldc in
            integerGEMM(phase.weight, col, n: n, ldb: n, dst, ldc: ldc,
                        correction: phase.correction, scale: outScale, bias: bias)
        }
        return Tensor(channels: outChannels, height: oh, width: ow, data: out)
    }

    /// The exact sums Σ w_q · (x_q − zero) over every output's taps, `outChannels × outHeight × outWidth`.
    public func accumulators(_ x: Tensor) -> [Int32] {
        run(x) { phase, col, n, dst, ldc in
            integerGEMM(phase.weight, col, n: n, ldb: n, dst, ldc: ldc)
            for co in 0..<outChannels {
                let row = dst + co * ldc, z = phase.correction[co]
                for j in 0..<n { row[j] &-= z }
            }
        }
    }

    /// Runs every phase through `gemm(phase, columns, n, destination, ldc)` (n output positions of
    /// every channel, channel rows ldc apart) in bands of phase rows, then interleaves the phases.
    private func run<T: BitwiseCopyable>(_ x: Tensor,
                                         _ gemm: (Phase, UnsafePointer<UInt8>, Int, UnsafeMutablePointer<T>, Int) -> Void) -> [T] {
        precondition(x.channels == inChannels, "deconv expects \(inChannels) channels, got \(x.channels)")
        let (oh, ow) = outputSize(height: x.height, width: x.width)
        let codes = input.codes(x)
        var out = [T].scratch(count: outChannels * oh * ow)
        codes.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for phase in phases {
                    // Output rows s·a + py for a in 0..<na, columns s·b + px for b in 0..<nb.
                    let na = max(0, (oh - phase.py + stride - 1) / stride), nb = max(0, (ow - phase.px + stride - 1) / stride)
                    guard na > 0 && nb > 0 else { continue }
                    let rows = max(1, phase.weight.columns)
                    var buffer = [T].scratch(count: outChannels * na * nb)
                    let bandRows = max(1, min(na, (1 << 23) / max(1, rows * nb)))
                    var col = [UInt8].scratch(count: rows * bandRows * nb)
                    buffer.withUnsafeMutableBufferPointer { buf in
                        col.withUnsafeMutableBufferPointer { colBuf in
                            var a0 = 0
                            while a0 < na {
                                let band = min(bandRows, na - a0), n = band * nb
                                im2col(phase, src.baseAddress!, x.height, x.width, a0, band, nb, colBuf.baseAddress!, n)
                                gemm(phase, colBuf.baseAddress!, n, buf.baseAddress! + a0 * nb, na * nb)
                                a0 += band
                            }
                        }
                        let parts = Parallel.ranges(outChannels, grain: 1)
                        Parallel.forEach(parts.count) { part in
                            for co in parts[part] {
                                for a in 0..<na {
                                    let from = buf.baseAddress! + (co * na + a) * nb
                                    let to = dst.baseAddress! + (co * oh + stride * a + phase.py) * ow + phase.px
                                    for b in 0..<nb { to[stride * b] = from[b] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The phase's im2col rows (ci, ty, tx) for phase rows a0 ..< a0 + band: input (a + dy, b + dx),
    /// the zero point outside the image.
    private func im2col(_ phase: Phase, _ src: UnsafePointer<UInt8>, _ h: Int, _ w: Int, _ a0: Int, _ band: Int,
                        _ nb: Int, _ col: UnsafeMutablePointer<UInt8>, _ n: Int) {
        let ty = phase.dy.count, tx = phase.dx.count
        let parts = min(Parallel.threads, inChannels)
        Parallel.forEach(parts) { part in
            for ci in (inChannels * part / parts)..<(inChannels * (part + 1) / parts) {
                let plane = src + ci * h * w
                let pad = UInt8(input.zero[ci])
                for i in 0..<ty {
                    for j in 0..<tx {
                        let row = col + ((ci * ty + i) * tx + j) * n
                        let dx = phase.dx[j]
                        // Columns b whose input column b + dx is inside: lo..<hi.
                        let lo = min(nb, max(0, -dx)), hi = max(lo, min(nb, w - dx))
                        for r in 0..<band {
                            let iy = a0 + r + phase.dy[i]
                            let dst = row + r * nb
                            if iy < 0 || iy >= h {
                                dst.update(repeating: pad, count: nb)
                                continue
                            }
                            if lo > 0 { dst.update(repeating: pad, count: lo) }
                            if hi < nb { (dst + hi).update(repeating: pad, count: nb - hi) }
                            (dst + lo).update(from: plane + iy * w + lo + dx, count: hi - lo)
                        }
                    }
                }
            }
        }
    }
}

/// A per-pixel linear map over channels with int8 weights on uint8-quantized input (the
/// attention blocks' Linears; Training/quantize.py, QuantLinear).
public struct PointwiseLinearInt8: Sendable {
    public let inChannels: Int, outChannels: Int
    public let input: InputQuantization
    let weight: PaddedInt8Matrix
    /// Σ_c w_q[o, c] · zero[c].
    let correction: [Int32]
    public let outScale: [Float], bias: [Float]

    /// `weight`: `outChannels × inChannels`, in −127...127.
    public init(inChannels: Int, outChannels: Int, weight: [Int8], outScale: [Float], bias: [Float],
                input: InputQuantization) {
        precondition(weight.count == outChannels * inChannels && outScale.count == outChannels && bias.count == outChannels)
        precondition(input.zero.count == inChannels)
        self.inChannels = inChannels; self.outChannels = outChannels
        self.input = input; self.outScale = outScale; self.bias = bias
        let matrix = PaddedInt8Matrix(rows: outChannels, columns: inChannels, rowMajor: weight)
        self.weight = matrix
        correction = matrix.zeroPointCorrection(input.zero, taps: 1)
    }

    /// The exact sums Σ w_q · (x_q − zero), `outChannels × height × width`.
    public func accumulators(_ x: Tensor) -> [Int32] {
        subtracting(correction, from: products(x), channels: outChannels)
    }

    /// Σ w_q · x_q (the zero points not yet taken out: `callAsFunction` folds that into its pass).
    func products(_ x: Tensor) -> [Int32] {
        precondition(x.channels == inChannels, "linear expects \(inChannels) channels, got \(x.channels)")
        let plane = x.planeSize
        let codes = input.codes(x)
        var acc = [Int32].scratch(count: outChannels * plane)
        codes.withUnsafeBufferPointer { src in
            acc.withUnsafeMutableBufferPointer { dst in
                integerGEMM(weight, src.baseAddress!, n: plane, ldb: plane, dst.baseAddress!, ldc: plane)
            }
        }
        return acc
    }

    /// The layer's output, dequantized in the GEMM's epilogue (see Conv2DInt8.callAsFunction).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.channels == inChannels, "linear expects \(inChannels) channels, got \(x.channels)")
        return self(codes: input.codes(x), height: x.height, width: x.width)
    }

    /// The output for input codes already made (`input.codes` of an `inChannels × height × width` map).
    func callAsFunction(codes: [UInt8], height: Int, width: Int) -> Tensor {
        let plane = height * width
        precondition(codes.count == inChannels * plane)
        var out = [Float].scratch(count: outChannels * plane)
        codes.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                integerGEMM(weight, src.baseAddress!, n: plane, ldb: plane, dst.baseAddress!, ldc: plane,
                            correction: correction, scale: outScale, bias: bias)
            }
        }
        return Tensor(channels: outChannels, height: height, width: width, data: out)
    }
}

/// A Linear over channels in fp32 or int8, as the model file says.
public enum ChannelLinear: Sendable {
    case fp32(PointwiseLinear)
    case int8(PointwiseLinearInt8)

    public var inChannels: Int {
        switch self { case let .fp32(l): l.inChannels; case let .int8(l): l.inChannels }
    }
    public var outChannels: Int {
        switch self { case let .fp32(l): l.outChannels; case let .int8(l): l.outChannels }
    }
    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self { case let .fp32(l): l(x); case let .int8(l): l(x) }
    }

    /// self(norm(x)); an int8 layer gets its codes straight from the normalization.
    public func normalized(_ x: Tensor, by norm: ChannelLayerNorm) -> Tensor {
        switch self {
        case let .fp32(l): l(norm(x))
        case let .int8(l): l(codes: norm.codes(x, for: l.input), height: x.height, width: x.width)
        }
    }

    /// self(GELU(x)); an int8 layer quantizes GELU's output in the same pass.
    public func afterGELU(_ x: consuming Tensor) -> Tensor {
        switch self {
        case let .fp32(l): return l(Activation.gelu(x))
        case let .int8(l) where x.planeSize % 8 == 0:
            return l(codes: l.input.geluCodes(x), height: x.height, width: x.width)
        case let .int8(l): return l(Activation.gelu(x))
        }
    }
}

/// acc − correction[c] on every channel plane c of acc.
func subtracting(_ correction: [Int32], from acc: [Int32], channels: Int) -> [Int32] {
    var out = acc
    let plane = acc.count / channels
    for c in 0..<channels {
        for i in (c * plane)..<((c + 1) * plane) { out[i] &-= correction[c] }
    }
    return out
}
