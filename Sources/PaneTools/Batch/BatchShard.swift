/// The part of a batch one process takes when several processes share a tree with no
/// coordination (a Kubernetes Indexed Job, a Slurm array): the files whose relative path
/// hashes to `index` modulo `count`.
///
/// The hash is FNV-1a 64 over the path's UTF-8 bytes, not Swift's `Hasher`, which is seeded
/// per process: every machine and every run must put a path in the same shard.
public struct BatchShard: Equatable, Sendable, CustomStringConvertible {
    /// 0-based, in `0..<count`.
    public let index: Int
    public let count: Int

    /// The whole tree: one shard.
    public static let all = BatchShard(unchecked: 0, 1)

    /// - Throws: `BatchError.invalidShard` unless `count >= 1` and `0 <= index < count`.
    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw BatchError.invalidShard("\(index)/\(count): the shard count must be at least 1") }
        guard (0..<count).contains(index) else {
            throw BatchError.invalidShard("\(index)/\(count): the index must be in 0…\(count - 1) (it is 0-based)")
        }
        self.init(unchecked: index, count)
    }

    /// Parses `I/N`, as in `--shard $JOB_COMPLETION_INDEX/16`.
    /// - Throws: `BatchError.invalidShard` for anything else, or an out-of-range index.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw BatchError.invalidShard("\(text): expected I/N, e.g. 3/16")
        }
        try self.init(index: index, count: count)
    }

    private init(unchecked index: Int, _ count: Int) {
        self.index = index
        self.count = count
    }

    public var description: String { "\(index)/\(count)" }

    /// The shard (0..<count) that `relativePath` belongs to.
    public func shard(of relativePath: String) -> Int {
        Int(Self.hash(relativePath) % UInt64(count))
    }

    public func contains(_ relativePath: String) -> Bool {
        shard(of: relativePath) == index
    }

    /// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3), over UTF-8.
    public static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01b3
        }
        return h
    }
}
