import PaneImageIO

extension Codec {
    /// Encodes at the highest quality whose stream fits `targetBytes`: bisection over the
    /// continuous quality (the rate grows with quality), sharing one g_a across the trials.
    /// Returns the quality-0 stream if even that is larger.
    public func encode(_ image: Image, targetBytes: Int, tileSize: Int? = nil, progress: Progress? = nil) throws -> Encoded {
        let analysis = try analyze(image, tileSize: tileSize, progress: progress)
        var lo = 0.0, hi = 100.0
        var best = try encode(analysis, quality: lo)
        if best.bytes.count > targetBytes { return best }
        let top = try encode(analysis, quality: hi)
        if top.bytes.count <= targetBytes { return top }
        for _ in 0..<9 {
            let mid = (lo + hi) / 2
            let candidate = try encode(analysis, quality: mid)
            if candidate.bytes.count <= targetBytes {
                lo = mid
                best = candidate
            } else {
                hi = mid
            }
        }
        return best
    }
}
