import Testing
@testable import PaneKernels

/// Attention with pruned heads (`heads · headDim` ≠ `dim`, Training/prune.py): a block that keeps
/// one of two heads must compute what the full block computes when the removed head's output is
/// silenced (its columns of proj zero) — the same identity `Training/tests/test_prune.py` checks on
/// the PyTorch side.
@Suite struct HeadPruningTests {
    let dim = 16, headDim = 8, window = 4, hidden = 12

    func values(_ count: Int, seed: UInt64) -> [Float] {
        var rng = KernelTests.Generator(state: seed)
        return (0..<count).map { _ in Float.random(in: -0.5...0.5, using: &rng) }
    }

    func linear(_ cin: Int, _ cout: Int, _ w: [Float], _ b: [Float]) -> ChannelLinear {
        .fp32(PointwiseLinear(inChannels: cin, outChannels: cout, weight: w, bias: b))
    }

    func norm(_ seed: UInt64) -> ChannelLayerNorm {
        ChannelLayerNorm(channels: dim, weight: values(dim, seed: seed).map { 1 + $0 }, bias: values(dim, seed: seed + 1),
                         epsilon: 1e-5)
    }

    @Test(arguments: [0, 2])
    func aBlockWithOneHeadMatchesTheFullBlockWithTheOtherHeadSilenced(shift: Int) {
        let span = 2 * window - 1
        let qkvW = values(3 * dim * dim, seed: 1), qkvB = values(3 * dim, seed: 2)
        var projW = values(dim * dim, seed: 3)
        let projB = values(dim, seed: 4), bias = values(span * span * 2, seed: 5)
        let fc1W = values(hidden * dim, seed: 6), fc1B = values(hidden, seed: 7)
        let fc2W = values(dim * hidden, seed: 8), fc2B = values(dim, seed: 9)
        for o in 0..<dim { for i in 0..<headDim { projW[o * dim + i] = 0 } }   // head 0 silenced

        let full = SwinBlock(dim: dim, heads: 2, headDim: headDim, window: window, shift: shift, maskValue: -100,
                             norm1: norm(10), qkv: linear(dim, 3 * dim, qkvW, qkvB), proj: linear(dim, dim, projW, projB),
                             relativeBias: bias, norm2: norm(12),
                             fc1: linear(dim, hidden, fc1W, fc1B), fc2: linear(hidden, dim, fc2W, fc2B))
        // Head 1 alone: rows headDim..<dim of each of q, k, v; columns headDim..<dim of proj; bias column 1.
        let rows = (0..<3).flatMap { part in (headDim..<dim).map { part * dim + $0 } }
        let keptQKV = rows.flatMap { r in qkvW[(r * dim)..<((r + 1) * dim)] }
        let keptProj = (0..<dim).flatMap { o in projW[(o * dim + headDim)..<((o + 1) * dim)] }
        let pruned = SwinBlock(dim: dim, heads: 1, headDim: headDim, window: window, shift: shift, maskValue: -100,
                               norm1: norm(10), qkv: linear(dim, 3 * headDim, keptQKV, rows.map { qkvB[$0] }),
                               proj: linear(headDim, dim, keptProj, projB),
                               relativeBias: stride(from: 1, to: bias.count, by: 2).map { bias[$0] }, norm2: norm(12),
                               fc1: linear(dim, hidden, fc1W, fc1B), fc2: linear(hidden, dim, fc2W, fc2B))
        #expect(pruned.inner == headDim && full.inner == dim)

        let x = Tensor(channels: dim, height: 8, width: 12, data: values(dim * 8 * 12, seed: 20))
        let a = full(x), b = pruned(x)
        #expect(a.channels == dim && b.channels == dim && a.height == 8 && b.width == 12)
        let worst = zip(a.data, b.data).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-5, "max difference \(worst)")
        // And the silenced head really was a head: dropping head 1 instead changes the output.
        let other = SwinBlock(dim: dim, heads: 1, headDim: headDim, window: window, shift: shift, maskValue: -100,
                              norm1: norm(10), qkv: linear(dim, 3 * headDim, rows.map { $0 - headDim }.flatMap { r in qkvW[(r * dim)..<((r + 1) * dim)] },
                                                           rows.map { qkvB[$0 - headDim] }),
                              proj: linear(headDim, dim, keptProj, projB),
                              relativeBias: stride(from: 0, to: bias.count, by: 2).map { bias[$0] }, norm2: norm(12),
                              fc1: linear(dim, hidden, fc1W, fc1B), fc2: linear(hidden, dim, fc2W, fc2B))
        #expect(zip(a.data, other(x).data).map { abs($0 - $1) }.max()! > 1e-3)
    }
}
