import CPaneKernels
import Dispatch
import Foundation

/// Where the runtime's threads come from: one place decides the thread count
/// (STYLE.md rule 5); kernels receive their slice of the work.
public enum Parallel {
    nonisolated(unsafe) private static var configuredThreads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Threads used by the kernels (default: the active core count).
    public static var threads: Int {
        get { configuredThreads }
        set { configuredThreads = max(1, newValue) }
    }

    /// Runs `body(part, parts)` for every part of `count` in parallel.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 || threads == 1 {
            for i in 0..<count { body(i) }
            return
        }
        let path = CPUPath.callerOverride
        DispatchQueue.concurrentPerform(iterations: count) { i in CPUPath.run(under: path) { body(i) } }
    }

    /// Splits `0..<n` into at most `threads` contiguous ranges of at least `grain` items.
    public static func ranges(_ n: Int, grain: Int = 64) -> [Range<Int>] {
        let parts = max(1, min(threads, n / max(grain, 1)))
        return (0..<parts).map { p in (n * p / parts)..<(n * (p + 1) / parts) }
    }

    /// Runs `body` on column ranges of an m×n×k matrix product: one range when the product
    /// is too small to be worth threads, else one per thread of at least `grain` columns.
    static func forEachColumnRange(m: Int, n: Int, k: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let parts = m * n * k < 1 << 16 ? [0..<n] : ranges(n, grain: grain)
        forEach(parts.count) { body(parts[$0]) }
    }
}

/// C[m×n] += A[m×k] · B[k×n] (row-major), columns split across threads.
@inline(__always)
func gemm(m: Int, n: Int, k: Int,
          _ a: UnsafePointer<Float>, lda: Int,
          _ b: UnsafePointer<Float>, ldb: Int,
          _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    Parallel.forEachColumnRange(m: m, n: n, k: k, grain: 32) { r in
        pane_sgemm(Int32(m), Int32(r.count), Int32(k), a, Int32(lda),
                   b + r.lowerBound, Int32(ldb), c + r.lowerBound, Int32(ldc))
    }
}

/// Instruction-set path of the C kernels (the environment variable PANE_CPU=scalar|avx2 caps it
/// for the whole process).
public enum CPUPath: String, Sendable, Comparable {
    case scalar, avx2
    /// AVX2 plus AVX-512 (F, VL, VNNI): 512-bit int8, int16 and float GEMMs.
    case vnni

    public static var current: CPUPath { CPUPath(pane_cpu_selected()) }

    /// Forces `path` for the calling thread and the workers it starts (tests compare paths
    /// while other tests run); a path the CPU lacks gives scalar. Returns the path in effect.
    @discardableResult
    public static func force(_ path: CPUPath) -> CPUPath {
        CPUPath(pane_cpu_force(path.c))
    }

    /// Drops the calling thread's forced path (back to the process's path).
    public static func clearForced() {
        pane_cpu_set_override(-1)
    }

    /// The calling thread's forced path (−1: none), to hand to `run(under:)` on workers.
    public static var callerOverride: Int32 { pane_cpu_override() }

    /// Runs `body` on this (worker) thread under `path`, a caller's `callerOverride`.
    public static func run<T>(under path: Int32, _ body: () throws -> T) rethrows -> T {
        guard path >= 0 else { return try body() }
        let saved = pane_cpu_override()
        pane_cpu_set_override(path)
        defer { pane_cpu_set_override(saved) }
        return try body()
    }

    init(_ c: pane_cpu_path) {
        switch c {
        case PANE_CPU_VNNI: self = .vnni
        case PANE_CPU_AVX2: self = .avx2
        default: self = .scalar
        }
    }

    var c: pane_cpu_path {
        switch self {
        case .scalar: PANE_CPU_SCALAR
        case .avx2: PANE_CPU_AVX2
        case .vnni: PANE_CPU_VNNI
        }
    }

    private var rank: Int { self == .scalar ? 0 : self == .avx2 ? 1 : 2 }
    public static func < (a: CPUPath, b: CPUPath) -> Bool { a.rank < b.rank }
}

/// C[m×n] = A[m×k] · B[k×n] exactly, int16 operands and int64 results (the integer entropy
/// path), columns split across threads. Every CPU path and thread count gives the same integers.
/// `narrow`: every entry of A is within ±255 (pane_wgemm_narrow, half the multiply-adds).
/// REQUIRES: |A| ≤ 32767 (≤ 255 when narrow), lda ≥ 2·⌈k/2⌉ with A's entry k zero when k is odd
/// (see pane_wgemm).
public func exactIntegerGEMM(m: Int, n: Int, k: Int,
                             _ a: UnsafePointer<Int16>, lda: Int,
                             _ b: UnsafePointer<Int16>, ldb: Int,
                             _ c: UnsafeMutablePointer<Int64>, ldc: Int, narrow: Bool = false) {
    Parallel.forEachColumnRange(m: m, n: n, k: k, grain: 16) { r in
        (narrow ? pane_wgemm_narrow : pane_wgemm)(Int32(m), Int32(r.count), Int32(k), a, Int32(lda),
                                                  b + r.lowerBound, Int32(ldb), c + r.lowerBound, Int32(ldc))
    }
}

/// The C allocator's policy for the runtime's large, short-lived tensors.
public enum Allocator {
    nonisolated(unsafe) private static var configured = false

    /// glibc serves blocks above its mmap threshold (128 KB at first) with fresh pages from the
    /// kernel and unmaps them on free, so every tensor of a forward pass page-faults its memory in
    /// again: a quarter of an encode's time on Kodak in `perf`. Raising the threshold to its
    /// maximum (32 MB) and the trim threshold alike keeps freed blocks for reuse; the heap's first
    /// 96 MB are reserved and marked for transparent huge pages, so a fresh process faults its
    /// tensors in 2 MB at a time (pane_keep_freed_blocks). Call once, early (Codec does); it is a
    /// no-op elsewhere than glibc.
    public static func keepFreedBlocks() {
        guard !configured else { return }
        configured = true
        pane_keep_freed_blocks()
    }
}
