/// The im2col rows of one input channel for a band of output rows, shared by the fp32 and int8
/// convolutions: rows ordered (ky, kx), each `band · outWidth` long and `rowStride` apart,
/// positions outside the image set to `pad` (0, or the int8 input's zero point).
///
/// Stride 1 copies each row's inside part at once. Stride 2 first splits every input row the band
/// reads into its even and odd columns (`halves`), after which each tap's row is again one
/// contiguous copy from one half instead of a gather of every other element.
struct Im2colChannel<Element> {
    let height: Int, width: Int, kernel: Int, stride: Int, padding: Int
    let firstOutputRow: Int, band: Int, outWidth: Int

    /// The input rows the band reads.
    /// The input rows the band reads (empty when all of them are padding).
    var inputRows: Range<Int> {
        let first = max(0, firstOutputRow * stride - padding)
        return first..<max(first, min(height, (firstOutputRow + band - 1) * stride - padding + kernel))
    }

    /// Elements of the `halves` scratch `write` needs for stride 2 (0 for other strides).
    var halvesCount: Int { stride == 2 ? 2 * ((width + 1) / 2) * inputRows.count : 0 }

    func write(_ plane: UnsafePointer<Element>, pad: Element, halves: UnsafeMutablePointer<Element>?,
               into rows: UnsafeMutablePointer<Element>, rowStride: Int) {
        let k = kernel, s = stride, p = padding, h = height, w = width, ow = outWidth
        let half = (w + 1) / 2, first = inputRows.lowerBound
        if s == 2, let halves {
            for iy in inputRows {
                let line = plane + iy * w, even = halves + 2 * half * (iy - first), odd = even + half
                for i in 0..<(w / 2) { even[i] = line[2 * i]; odd[i] = line[2 * i + 1] }
                if w % 2 == 1 { even[w / 2] = line[w - 1] }
            }
        }
        for ky in 0..<k {
            for kx in 0..<k {
                let row = rows + (ky * k + kx) * rowStride
                // Output columns whose input column is inside the image: ox in lo..<hi.
                let lo = min(ow, max(0, floorDivision(p - kx + s - 1, s)))
                let hi = max(lo, min(ow, floorDivision(w - 1 + p - kx, s) + 1))
                for by in 0..<band {
                    let iy = (firstOutputRow + by) * s - p + ky
                    let dst = row + by * ow
                    guard iy >= 0 && iy < h else {
                        dst.update(repeating: pad, count: ow)
                        continue
                    }
                    if lo > 0 { dst.update(repeating: pad, count: lo) }
                    if hi < ow { (dst + hi).update(repeating: pad, count: ow - hi) }
                    let line = plane + iy * w
                    if s == 1 {
                        (dst + lo).update(from: line + (lo - p + kx), count: hi - lo)
                    } else if s == 2, let halves {
                        // Input column 2·ox + t, t = kx − p: column ox + ⌊t/2⌋ of the even (t even)
                        // or odd (t odd) half.
                        let t = kx - p
                        let source = halves + 2 * half * (iy - first) + (t & 1) * half
                        (dst + lo).update(from: source + lo + floorDivision(t, 2), count: hi - lo)
                    } else {
                        for ox in lo..<hi { dst[ox] = line[ox * s - p + kx] }
                    }
                }
            }
        }
    }
}

extension Im2colChannel where Element: BitwiseCopyable {
    /// Writes channels `channels` of `src` (planes of height × width) into their rows of `col`,
    /// the channels split across threads, each thread with its own `halves` scratch.
    func write(channels: Int, _ src: UnsafePointer<Element>, pad: (Int) -> Element,
               into col: UnsafeMutablePointer<Element>, rowStride: Int) {
        let parts = min(Parallel.threads, channels), taps = kernel * kernel
        let scratchCount = halvesCount
        Parallel.forEach(parts) { part in
            let halves = scratchCount > 0 ? UnsafeMutablePointer<Element>.allocate(capacity: scratchCount) : nil
            defer { halves?.deallocate() }
            for ci in (channels * part / parts)..<(channels * (part + 1) / parts) {
                write(src + ci * height * width, pad: pad(ci), halves: halves,
                      into: col + ci * taps * rowStride, rowStride: rowStride)
            }
        }
    }
}
