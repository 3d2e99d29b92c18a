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

/// Transposed 2-D convolution (PyTorch `ConvTranspose2d`, square kernel).
///
/// Each band of input rows becomes columns = transposed weights × input,
/// scattered into the output (col2im).
public struct Deconv2D: Sendable {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int
    /// `(outChannels·kernel·kernel) × inChannels`: PyTorch's `in, out, kh, kw` transposed at load.
    let weightT: [Float]
    public let bias: [Float]

    /// `weight` in PyTorch's layout `inChannels × outChannels × kernel × kernel`.
    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int,
                weight: [Float], bias: [Float]) {
        precondition(weight.count == outChannels * inChannels * kernel * kernel && bias.count == outChannels)
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.padding = padding; self.outputPadding = outputPadding
        self.bias = bias
        let kk = kernel * kernel
        var t = [Float](repeating: 0, count: weight.count)
        for ci in 0..<inChannels {
            for r in 0..<(outChannels * kk) {
                t[r * inChannels + ci] = weight[ci * outChannels * kk + r]
            }
        }
        self.weightT = t
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height - 1) * stride - 2 * padding + kernel + outputPadding,
         (width - 1) * stride - 2 * padding + kernel + outputPadding)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.channels == inChannels, "deconv expects \(inChannels) channels, got \(x.channels)")
        let (oh, ow) = outputSize(height: x.height, width: x.width)
        let h = x.height, w = x.width
        let k = kernel, s = stride, p = padding
        let rows = outChannels * k * k
        let outPlane = oh * ow
        var out = [Float](repeating: 0, count: outChannels * outPlane)
        let bandRows = max(1, min(h, (1 << 22) / max(1, rows * w)))
        var col = [Float](repeating: 0, count: rows * bandRows * w)
        x.data.withUnsafeBufferPointer { src in
            weightT.withUnsafeBufferPointer { wt in
                out.withUnsafeMutableBufferPointer { dst in
                    col.withUnsafeMutableBufferPointer { colBuf in
                        var iy0 = 0
                        while iy0 < h {
                            let band = min(bandRows, h - iy0)
                            let n = band * w
                            colBuf.baseAddress!.update(repeating: 0, count: rows * n)
                            gemm(m: rows, n: n, k: inChannels, wt.baseAddress!, lda: inChannels,
                                 src.baseAddress! + iy0 * w, ldb: h * w, colBuf.baseAddress!, ldc: n)
                            // col2im: channels are independent, so threads split them.
                            let parts = min(Parallel.threads, outChannels)
                            Parallel.forEach(parts) { part in
                                for co in (outChannels * part / parts)..<(outChannels * (part + 1) / parts) {
                                    let plane = dst.baseAddress! + co * outPlane
                                    for ky in 0..<k {
                                        for kx in 0..<k {
                                            let row = colBuf.baseAddress! + ((co * k + ky) * k + kx) * n
                                            for by in 0..<band {
                                                let oy = (iy0 + by) * s - p + ky
                                                if oy < 0 || oy >= oh { continue }
                                                let line = plane + oy * ow
                                                let colLine = row + by * w
                                                for ix in 0..<w {
                                                    let ox = ix * s - p + kx
                                                    if ox >= 0 && ox < ow { line[ox] += colLine[ix] }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            iy0 += band
                        }
                    }
                }
            }
        }
        for c in 0..<outChannels {
            let b = bias[c]
            for i in (c * outPlane)..<((c + 1) * outPlane) { out[i] += b }
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
