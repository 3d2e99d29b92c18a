/// What a batch does to each input.
public enum BatchMode: Equatable, Sendable {
    /// PNG / JPEG → `.pane`.
    case encode(BatchRate)
    /// `.pane` → PNG.
    case decode

    /// Extensions of inputs, compared lowercased.
    public var inputExtensions: Set<String> {
        switch self {
        case .encode: return ["png", "jpg", "jpeg"]
        case .decode: return ["pane"]
        }
    }

    public var outputExtension: String {
        switch self {
        case .encode: return "pane"
        case .decode: return "png"
        }
    }

    public func isInput(_ relativePath: String) -> Bool {
        splitExtension(relativePath).map { inputExtensions.contains($0.extension.lowercased()) } ?? false
    }

    /// `a/b/c.png` → `a/b/c.pane` (or `.pane` → `.png` when decoding). REQUIRES: `isInput(relativePath)`.
    public func outputPath(for relativePath: String) -> String {
        (splitExtension(relativePath)?.stem ?? relativePath) + "." + outputExtension
    }
}

/// How `.encode` picks each file's size.
public enum BatchRate: Equatable, Sendable {
    /// Quality 0…100.
    case quality(Double)
    /// Target bits per pixel: each file gets at most bpp · width · height / 8 bytes.
    case bitsPerPixel(Double)
}

/// `a/b/c.png` → (`a/b/c`, `png`); nil when the last component has no extension (a leading
/// dot, as in `.png`, starts a hidden name, not an extension).
func splitExtension(_ path: String) -> (stem: String, extension: String)? {
    let name = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
    guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
    let ext = name[name.index(after: dot)...]
    guard !ext.isEmpty else { return nil }
    return (String(path.dropLast(ext.count + 1)), String(ext))
}

/// One input of this shard and the output it becomes, both relative to their roots.
public struct BatchItem: Equatable, Sendable {
    public let input: String
    public let output: String
    /// Input size when walked.
    public let inputBytes: Int64
}

/// The work of one shard, decided from a listing of the whole source tree.
///
/// Everything counted here is split by shard (images, non-images and unreadable directories
/// alike, by the hash of their relative path), so the counts of all shards add up to the tree's.
public struct BatchPlan: Equatable, Sendable {
    public let mode: BatchMode
    public let shard: BatchShard
    /// This shard's inputs, in sorted order.
    public let items: [BatchItem]
    /// This shard's entries that are not inputs for `mode`.
    public let nonInputs: [String]
    /// Inputs that belong to other shards.
    public let otherShards: Int
    /// This shard's inputs that cannot be done (two inputs with one output name, such as
    /// `c.png` and `c.jpg`: the first in sorted order is done, the others fail) and directories
    /// that could not be listed.
    public let failures: [BatchFailure]
    /// Every directory of the source tree, `""` for the root: the places mirrored under the destination.
    public let directories: [String]
    /// Output path → the shard that writes it, for every input of the tree.
    let outputOwners: [String: Int]

    public init(listing: BatchListing, mode: BatchMode, shard: BatchShard = .all) {
        self.mode = mode
        self.shard = shard
        var items: [BatchItem] = [], nonInputs: [String] = [], failures: [BatchFailure] = []
        var otherShards = 0
        var owners: [String: Int] = [:]
        var firstInput: [String: String] = [:]
        for file in listing.files {
            let mine = shard.contains(file.relativePath)
            guard mode.isInput(file.relativePath) else {
                if mine { nonInputs.append(file.relativePath) }
                continue
            }
            let output = mode.outputPath(for: file.relativePath)
            if let first = firstInput[output] {
                if mine { failures.append(BatchFailure(path: file.relativePath, reason: "\(first) already becomes \(output)")) }
                continue
            }
            firstInput[output] = file.relativePath
            owners[output] = shard.shard(of: file.relativePath)
            if mine {
                items.append(BatchItem(input: file.relativePath, output: output, inputBytes: file.size))
            } else {
                otherShards += 1
            }
        }
        nonInputs += listing.others.filter(shard.contains)
        failures += listing.unreadable.filter { shard.contains($0.path) }
        self.items = items
        self.nonInputs = nonInputs.sorted(by: utf8Precedes)
        self.otherShards = otherShards
        self.failures = failures.sorted { utf8Precedes($0.path, $1.path) }
        self.directories = listing.directories
        self.outputOwners = owners
    }

    /// Whether this shard may delete a leftover temporary file of `output` (a relative path).
    /// Another shard's in-flight temporary file must survive: shards share directories and
    /// start at different times. A file no input of the tree writes is nobody's, so any shard may.
    func mayRemoveTemporaryFile(of output: String) -> Bool {
        outputOwners[output].map { $0 == shard.index } ?? true
    }
}
