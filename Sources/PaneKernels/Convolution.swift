import CPaneKernels
/// 2-D convolution with square kernel, stride and zero padding (PyTorch `Conv2d`).
///
/// Computed in bands of output rows as weights × im2col columns, so scratch
/// memory stays bounded (about 16 MB) whatever the image size.
public struct Conv2D: Sendable {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    /// `outChannels × (inChannels·kernel·kernel)`, PyTorch's order.
    public let weight: [Float]
    public let bias: [Float]

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, weight: [Float], bias: [Float]) {
        precondition(weight.count == outChannels * inChannels * kernel * kernel && bias.count == outChannels)
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.padding = padding
        self.weight = weight; self.bias = bias
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + 2 * padding - kernel) / stride + 1, (width + 2 * padding - kernel) / stride + 1)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.channels == inChannels, "conv expects \(inChannels) channels, got \(x.channels)")
        let (oh, ow) = outputSize(height: x.height, width: x.width)
        let rows = inChannels * kernel * kernel
        let outPlane = oh * ow
        var out = [Float](repeating: 0, count: outChannels * outPlane)
        for c in 0..<outChannels {
            for i in 0..<outPlane { out[c * outPlane + i] = bias[c] }
        }
        let bandRows = max(1, min(oh, (1 << 22) / max(1, rows * ow)))
        var col = [Float].scratch(count: rows * bandRows * ow)
        x.data.withUnsafeBufferPointer { src in
            weight.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { dst in
                    col.withUnsafeMutableBufferPointer { colBuf in
                        var oy0 = 0
                        while oy0 < oh {
                            let band = min(bandRows, oh - oy0)
                            let n = band * ow
                            im2col(src.baseAddress!, x.height, x.width, oy0, band, ow, colBuf.baseAddress!, n)
                            gemm(m: outChannels, n: n, k: rows, w.baseAddress!, lda: rows,
                                 colBuf.baseAddress!, ldb: n, dst.baseAddress! + oy0 * ow, ldc: outPlane)
                            oy0 += band
                        }
                    }
                }
            }
        }
        return Tensor(channels: outChannels, height: oh, width: ow, data: out)
    }

    private func im2col(_ src: UnsafePointer<Float>, _ h: Int, _ w: Int, _ oy0: Int, _ band: Int, _ ow: Int,
                        _ col: UnsafeMutablePointer<Float>, _ n: Int) {
        Im2colChannel<Float>(height: h, width: w, kernel: kernel, stride: stride, padding: padding,
                             firstOutputRow: oy0, band: band, outWidth: ow)
            .write(channels: inChannels, src, pad: { _ in 0 }, into: col, rowStride: n)
    }
}

/// Transposed 2-D convolution (PyTorch `ConvTranspose2d`, square kernel), computed as
/// `stride²` ordinary convolutions, one per output phase (see Deconv2DInt8): the outputs
/// `(s·a + py, s·b + px)` take the taps `ky ≡ py + padding (mod s)` from input `(a + dy, b + dx)`.
/// Each phase is im2col + GEMM onto its bias, then one pass interleaves the phases.
public struct Deconv2D: Sendable {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int
    public let bias: [Float]
    let phases: [Phase]
    /// `(outChannels·kernel·kernel) × inChannels` (PyTorch's `in, out, kh, kw` transposed), for
    /// `direct`; empty when the phases' GEMMs are used.
    let weightT: [Float]

    struct Phase: Sendable {
        let py: Int, px: Int
        let ky: [Int], kx: [Int]
        let dy: [Int], dx: [Int]
        /// `outChannels × (inChannels·taps)`.
        let weight: [Float]
        var columns: Int { weight.count / max(1, outChannels) }
        let outChannels: Int
    }

    /// `weight` in PyTorch's layout `inChannels × outChannels × kernel × kernel`.
    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int,
                weight: [Float], bias: [Float]) {
        precondition(weight.count == outChannels * inChannels * kernel * kernel && bias.count == outChannels)
        precondition(stride >= 1)
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.padding = padding; self.outputPadding = outputPadding
        self.bias = bias
        let k = kernel
        func taps(_ phase: Int) -> [Int] {
            (0..<k).filter { ((phase + padding - $0) % stride + stride) % stride == 0 }
        }
        var phases: [Phase] = []
        for py in 0..<stride {
            for px in 0..<stride {
                let ky = taps(py), kx = taps(px), t = ky.count * kx.count
                let w = [Float](unsafeUninitializedCapacity: outChannels * inChannels * t) { buffer, count in
                    weight.withUnsafeBufferPointer { src in
                        gatherPhaseWeights(src.baseAddress!, inChannels: inChannels, outChannels: outChannels, kernel: k,
                                           ky: ky, kx: kx, into: buffer.baseAddress!, rowStride: inChannels * t)
                    }
                    count = outChannels * inChannels * t
                }
                phases.append(Phase(py: py, px: px, ky: ky, kx: kx, dy: ky.map { (py + padding - $0) / stride },
                                    dx: kx.map { (px + padding - $0) / stride }, weight: w, outChannels: outChannels))
            }
        }
        self.phases = phases
        var t: [Float] = []
        if outChannels <= Int(PANE_DECONV_ROW_MAX_OUT) {
            let rows = outChannels * k * k
            t = [Float](repeating: 0, count: rows * inChannels)
            t.withUnsafeMutableBufferPointer { t in
                weight.withUnsafeBufferPointer { w in
                    for ci in 0..<inChannels { for r in 0..<rows { t[r * inChannels + ci] = w[ci * rows + r] } }
                }
            }
        }
        weightT = t
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height - 1) * stride - 2 * padding + kernel + outputPadding,
         (width - 1) * stride - 2 * padding + kernel + outputPadding)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.channels == inChannels, "deconv expects \(inChannels) channels, got \(x.channels)")
        let (oh, ow) = outputSize(height: x.height, width: x.width)
        let h = x.height, w = x.width
        var out = [Float].scratch(count: outChannels * oh * ow)
        if outChannels <= Int(PANE_DECONV_ROW_MAX_OUT) {   // the image-producing layer: see `direct`
            x.data.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in direct(src.baseAddress!, h, w, dst.baseAddress!, oh, ow) }
            }
            return Tensor(channels: outChannels, height: oh, width: ow, data: out)
        }
        x.data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for phase in phases {
                    let na = max(0, (oh - phase.py + stride - 1) / stride), nb = max(0, (ow - phase.px + stride - 1) / stride)
                    guard na > 0 && nb > 0 else { continue }
                    let rows = phase.columns, ty = phase.dy.count, tx = phase.dx.count
                    var buffer = [Float].scratch(count: outChannels * na * nb)
                    let bandRows = max(1, min(na, (1 << 21) / max(1, rows * nb)))
                    var col = [Float].scratch(count: max(1, rows * bandRows * nb))
                    buffer.withUnsafeMutableBufferPointer { buf in
                        let channels = Parallel.ranges(outChannels, grain: 1)
                        Parallel.forEach(channels.count) { part in
                            for co in channels[part] { (buf.baseAddress! + co * na * nb).update(repeating: bias[co], count: na * nb) }
                        }
                        col.withUnsafeMutableBufferPointer { colBuf in
                            phase.weight.withUnsafeBufferPointer { wt in
                                var a0 = 0
                                while a0 < na, rows > 0 {
                                    let band = min(bandRows, na - a0), n = band * nb
                                    let inputs = Parallel.ranges(inChannels, grain: 1)
                                    Parallel.forEach(inputs.count) { part in
                                        for ci in inputs[part] {
                                            let plane = src.baseAddress! + ci * h * w
                                            for i in 0..<ty {
                                                for j in 0..<tx {
                                                    let row = colBuf.baseAddress! + ((ci * ty + i) * tx + j) * n
                                                    let dx = phase.dx[j]
                                                    let lo = min(nb, max(0, -dx)), hi = max(lo, min(nb, w - dx))
                                                    for r in 0..<band {
                                                        let iy = a0 + r + phase.dy[i], line = row + r * nb
                                                        guard iy >= 0 && iy < h else {
                                                            line.update(repeating: 0, count: nb)
                                                            continue
                                                        }
                                                        line.update(repeating: 0, count: lo)
                                                        (line + hi).update(repeating: 0, count: nb - hi)
                                                        (line + lo).update(from: plane + iy * w + lo + dx, count: hi - lo)
                                                    }
                                                }
                                            }
                                        }
                                    }
                                    gemm(m: outChannels, n: n, k: rows, wt.baseAddress!, lda: rows, colBuf.baseAddress!, ldb: n,
                                         buf.baseAddress! + a0 * nb, ldc: na * nb)
                                    a0 += band
                                }
                            }
                        }
                        Parallel.forEach(channels.count) { part in
                            for co in channels[part] {
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
        return Tensor(channels: outChannels, height: oh, width: ow, data: out)
    }

    /// Few output channels (64 → 3 at full resolution): per phase, im2col would write
    /// inChannels·taps values a pixel to feed a GEMM of 3 rows. Instead one GEMM over a band of
    /// input rows gives every tap's contribution, `cols[(co·k + ky)·k + kx][pixel]` (k² rows an
    /// output channel, 75 here), and each phase row sums its taps' shifted rows of it onto the bias
    /// (`pane_deconv_row` with unit weights, vectorised), then is interleaved into the output.
    private func direct(_ src: UnsafePointer<Float>, _ h: Int, _ w: Int, _ dst: UnsafeMutablePointer<Float>, _ oh: Int, _ ow: Int) {
        let k = kernel, rows = outChannels * k * k
        let rowsOf = phases.map { max(0, (oh - $0.py + stride - 1) / stride) }
        let colsOf = phases.map { max(0, (ow - $0.px + stride - 1) / stride) }
        let minDy = phases.flatMap(\.dy).min() ?? 0, maxDy = phases.flatMap(\.dy).max() ?? 0
        let na = rowsOf.max() ?? 0
        let band = max(1, min(na, (1 << 22) / max(1, rows * w) - (maxDy - minDy)))
        let maxTaps = phases.map { $0.dy.count * $0.dx.count }.max() ?? 0
        var cols = [Float].scratch(count: rows * (band + maxDy - minDy) * w)
        let ones = [Float](repeating: 1, count: max(1, maxTaps))
        weightT.withUnsafeBufferPointer { wt in
            cols.withUnsafeMutableBufferPointer { colBuf in
                var a0 = 0
                while a0 < na {
                    let a1 = min(na, a0 + band)
                    let i0 = max(0, a0 + minDy), i1 = max(i0, min(h, a1 - 1 + maxDy + 1)), n = (i1 - i0) * w
                    if n > 0 {
                        colBuf.baseAddress!.update(repeating: 0, count: rows * n)
                        gemm(m: rows, n: n, k: inChannels, wt.baseAddress!, lda: inChannels, src + i0 * w, ldb: h * w,
                             colBuf.baseAddress!, ldc: n)
                    }
                    let work = Parallel.ranges(a1 - a0, grain: 2)
                    Parallel.forEach(work.count) { part in
                        let result = UnsafeMutablePointer<Float>.allocate(capacity: max(1, colsOf.max() ?? 0))
                        let lines = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: max(1, maxTaps))
                        defer { result.deallocate(); lines.deallocate() }
                        for a in work[part].map({ $0 + a0 }) {
                            for (p, phase) in phases.enumerated() where a < rowsOf[p] && colsOf[p] > 0 {
                                let nb = colsOf[p]
                                // Columns lo..<hi read inside the image for every tap (one vector
                                // call); the few edge columns outside that run are summed here.
                                let reach = phase.dx.map(abs).max() ?? 0
                                let lo = min(nb, reach), hi = max(lo, min(nb, w - reach))
                                for co in 0..<outChannels {
                                    var t = 0
                                    for (i, ky) in phase.ky.enumerated() {
                                        let iy = a + phase.dy[i]
                                        for (j, kx) in phase.kx.enumerated() {
                                            lines[t] = nil
                                            if iy >= 0 && iy < h {
                                                let row = colBuf.baseAddress! + ((co * k + ky) * k + kx) * n + (iy - i0) * w
                                                lines[t] = UnsafePointer(row + phase.dx[j] + lo)
                                            }
                                            t += 1
                                        }
                                    }
                                    bias.withUnsafeBufferPointer { bi in
                                        ones.withUnsafeBufferPointer { one in
                                            pane_deconv_row(1, Int32(t), one.baseAddress!, lines, bi.baseAddress! + co,
                                                            Int32(hi - lo), result + lo)
                                        }
                                    }
                                    for b in Array(0..<lo) + Array(hi..<nb) {
                                        var sum = bias[co]
                                        for (i, ky) in phase.ky.enumerated() {
                                            let iy = a + phase.dy[i]
                                            guard iy >= 0 && iy < h else { continue }
                                            for (j, kx) in phase.kx.enumerated() where b + phase.dx[j] >= 0 && b + phase.dx[j] < w {
                                                sum += colBuf[((co * k + ky) * k + kx) * n + (iy - i0) * w + b + phase.dx[j]]
                                            }
                                        }
                                        result[b] = sum
                                    }
                                    let to = dst + (co * oh + stride * a + phase.py) * ow + phase.px
                                    for b in 0..<nb { to[stride * b] = result[b] }
                                }
                            }
                        }
                    }
                    a0 = a1
                }
            }
        }
    }
}

/// Per-channel linear map on every pixel (a 1×1 convolution; PyTorch `Linear` over channels).
public struct PointwiseLinear: Sendable {
    public let inChannels: Int, outChannels: Int
    /// `outChannels × inChannels`.
    public let weight: [Float]
    public let bias: [Float]

    public init(inChannels: Int, outChannels: Int, weight: [Float], bias: [Float]) {
        precondition(weight.count == outChannels * inChannels && bias.count == outChannels)
        self.inChannels = inChannels; self.outChannels = outChannels
        self.weight = weight; self.bias = bias
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.channels == inChannels)
        let plane = x.planeSize
        var out = [Float](repeating: 0, count: outChannels * plane)
        for c in 0..<outChannels {
            for i in 0..<plane { out[c * plane + i] = bias[c] }
        }
        x.data.withUnsafeBufferPointer { src in
            weight.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { dst in
                    gemm(m: outChannels, n: plane, k: inChannels, w.baseAddress!, lda: inChannels,
                         src.baseAddress!, ldb: plane, dst.baseAddress!, ldc: plane)
                }
            }
        }
        return Tensor(channels: outChannels, height: x.height, width: x.width, data: out)
    }
}

/// One phase's weights of a transposed convolution: row `co` (rows `rowStride` apart) holds, for
/// each input channel in turn, its taps `ky × kx` in order, from PyTorch's layout
/// `inChannels × outChannels × kernel × kernel`. Every column of a row is written.
func gatherPhaseWeights<T>(_ weight: UnsafePointer<T>, inChannels: Int, outChannels: Int, kernel k: Int,
                           ky: [Int], kx: [Int], into out: UnsafeMutablePointer<T>, rowStride: Int) {
    let taps = ky.flatMap { y in kx.map { x in y * k + x } }, t = taps.count
    taps.withUnsafeBufferPointer { taps in
        for ci in 0..<inChannels {
            for co in 0..<outChannels {
                let src = weight + (ci * outChannels + co) * k * k, dst = out + co * rowStride + ci * t
                for n in 0..<t { dst[n] = src[taps[n]] }
            }
        }
    }
}
