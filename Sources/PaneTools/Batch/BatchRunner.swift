import Foundation
import Pane
import PaneBitstream
import PaneImageIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What became of one item.
public enum BatchOutcome: Equatable, Sendable {
    /// Written. `replacedIncomplete`: an output was there but did not parse or decode.
    case done(inputBytes: Int64, outputBytes: Int64, compressedBytes: Int64, pixels: Int64, replacedIncomplete: Bool)
    /// A complete output was already there.
    case skippedExisting
    case failed(BatchFailure)
}

/// Runs a plan with a pool of worker threads that share one loaded model.
///
/// Each output is written to a temporary file beside it and renamed into place, so a run killed
/// at any moment (even by SIGKILL) leaves no partial file under an output's name, and a rerun
/// skips the outputs that are complete, redoes the rest, and removes the temporary files left
/// behind. One file's failure is recorded and the batch goes on.
///
/// Threads: every worker encodes its own image, and the network's kernels split each image over
/// `Codec.threads`, a process-wide setting the caller chooses; `threadsPerImage(jobs:)` keeps the
/// total at the core count.
public struct BatchRunner: Sendable {
    public let plan: BatchPlan
    /// Roots the plan's relative paths hang from.
    public let source: String
    public let destination: String
    public let codec: Codec
    /// Decoding: the codec of each stream's release; nil decodes everything with `codec`.
    public let decoders: ReleaseCodecs?
    /// Worker threads, at least 1.
    public let jobs: Int

    public init(plan: BatchPlan, source: String, destination: String, codec: Codec, decoders: ReleaseCodecs? = nil, jobs: Int) {
        self.plan = plan
        self.source = source
        self.destination = destination
        self.codec = codec
        self.decoders = decoders
        self.jobs = max(1, jobs)
    }

    /// max(1, cores / jobs): `jobs` images at a time, each on its share of the cores, so the
    /// machine is neither idle nor oversubscribed.
    public static func threadsPerImage(jobs: Int, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        max(1, cores / max(1, jobs))
    }

    /// Creates the destination, removes leftover temporary files, then does every item.
    /// - Parameter observer: called after each item, one call at a time, with the item, its
    ///   outcome and the summary so far (for a progress display).
    /// - Throws: `BatchError.cannotCreateDirectory` when the destination cannot be made; nothing
    ///   that happens to a single file throws.
    public func run(observer: ((BatchItem, BatchOutcome, BatchSummary) -> Void)? = nil) throws -> BatchSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        try Self.makeDirectories(destination)
        var removed = 0
        for leftover in BatchTemporaryFiles.leftovers(of: plan, under: destination)
        where unlink(destination + "/" + leftover) == 0 {
            removed += 1
        }
        let state = SharedState(BatchSummary(plan: plan, jobs: jobs, removedTemporaryFiles: removed))
        let items = plan.items
        let group = DispatchGroup()
        for _ in 0..<min(jobs, items.count) {
            group.enter()
            let worker = Thread {
                while let index = state.claim(below: items.count) {
                    let outcome = process(items[index])
                    state.record(items[index], outcome, seconds: Self.seconds(since: start), observer: observer)
                }
                group.leave()
            }
            worker.stackSize = 8 << 20
            worker.start()
        }
        group.wait()
        var summary = state.summary
        summary.seconds = Self.seconds(since: start)
        summary.failures.sort { utf8Precedes($0.path, $1.path) }
        return summary
    }

    /// Does one item: skips it if its output is complete, else reads, codes and writes it.
    func process(_ item: BatchItem) -> BatchOutcome {
        let input = source + "/" + item.input, output = destination + "/" + item.output
        let intent = plan.intent(of: item, destination: destination)
        if intent == .skipExisting { return .skippedExisting }
        do {
            let data = try FileIO.contents(ofFile: input)
            let written: Data, compressed: Int, pixels: Int
            switch plan.mode {
            case let .encode(rate):
                let image = try Image(decoding: data)
                pixels = image.width * image.height
                let encoded: Codec.Encoded
                switch rate {
                case let .quality(q): encoded = try codec.encode(image, quality: q)
                case let .bitsPerPixel(bpp): encoded = try codec.encode(image, targetBytes: Int(bpp * Double(pixels) / 8))
                }
                written = Data(encoded.bytes)
                compressed = written.count
            case .decode:
                let bytes = [UInt8](data)
                let image = try (decoders?.codec(decoding: bytes) ?? codec).decode(bytes)
                pixels = image.width * image.height
                written = try image.encoded(as: .png)
                compressed = data.count
            }
            try Self.makeDirectories((output as NSString).deletingLastPathComponent)
            try FileIO.writeAtomically(written, to: output)
            return .done(inputBytes: Int64(data.count), outputBytes: Int64(written.count),
                         compressedBytes: Int64(compressed), pixels: Int64(pixels), replacedIncomplete: intent == .replaceIncomplete)
        } catch {
            return .failed(BatchFailure(path: item.input, error: error))
        }
    }

    /// Whether `path` holds a whole output: a `.pane` whose header, every section and every CRC
    /// check out, or a PNG that decodes.
    public static func isComplete(_ path: String, mode: BatchMode) -> Bool {
        switch mode {
        case .encode:
            guard let data = try? FileIO.contents(ofFile: path) else { return false }
            return (try? PaneFile(parsing: [UInt8](data))) != nil
        case .decode:
            return (try? Image(contentsOfFile: path)) != nil
        }
    }

    /// `mkdir -p`; safe when other processes create the same directories at the same time.
    static func makeDirectories(_ path: String) throws {
        if path.isEmpty || mkdir(path, 0o777) == 0 || errno == EEXIST { return }
        var reason = POSIXErrorText.current
        if errno == ENOENT {
            let parent = (path as NSString).deletingLastPathComponent
            if !parent.isEmpty && parent != path {
                try makeDirectories(parent)
                if mkdir(path, 0o777) == 0 || errno == EEXIST { return }
                reason = POSIXErrorText.current
            }
        }
        throw BatchError.cannotCreateDirectory(path: path, reason: reason.description)
    }

    private static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}

/// The next item to claim and the summary so far, behind one lock.
private final class SharedState: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private(set) var summary: BatchSummary

    init(_ summary: BatchSummary) { self.summary = summary }

    func claim(below count: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }

    func record(_ item: BatchItem, _ outcome: BatchOutcome, seconds: Double,
                observer: ((BatchItem, BatchOutcome, BatchSummary) -> Void)?) {
        lock.lock()
        defer { lock.unlock() }
        summary.add(item, outcome)
        summary.seconds = seconds
        observer?(item, outcome, summary)
    }
}
