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
        let k = kernel, s = stride, p = padding
        Parallel.forEach(min(Parallel.threads, inChannels)) { part in
            let parts = min(Parallel.threads, inChannels)
            for ci in (inChannels * part / parts)..<(inChannels * (part + 1) / parts) {
                let plane = src + ci * h * w
                for ky in 0..<k {
                    for kx in 0..<k {
                        let row = col + ((ci * k + ky) * k + kx) * n
                        for by in 0..<band {
                            let iy = (oy0 + by) * s - p + ky
                            let dst = row + by * ow
                            if iy < 0 || iy >= h {
                                dst.update(repeating: 0, count: ow)
                                continue
                            }
                            let line = plane + iy * w
                            for ox in 0..<ow {
                                let ix = ox * s - p + kx
                                dst[ox] = (ix >= 0 && ix < w) ? line[ix] : 0
                            }
                        }
                    }
                }
            }
        }
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

    struct Phase: Sendable {
        let py: Int, px: Int
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
                var w = [Float](repeating: 0, count: outChannels * inChannels * t)
                for co in 0..<outChannels {
                    for ci in 0..<inChannels {
                        for i in 0..<ky.count {
                            for j in 0..<kx.count {
                                w[(co * inChannels + ci) * t + i * kx.count + j] =
                                    weight[((ci * outChannels + co) * k + ky[i]) * k + kx[j]]
                            }
                        }
                    }
                }
                phases.append(Phase(py: py, px: px, dy: ky.map { (py + padding - $0) / stride },
                                    dx: kx.map { (px + padding - $0) / stride }, weight: w, outChannels: outChannels))
            }
        }
        self.phases = phases
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
