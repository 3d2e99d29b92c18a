import Foundation

/// Counts, sizes and speed of a batch, kept up to date while it runs (for the progress line)
/// and complete at the end.
///
/// Sizes and speeds cover the files done in this run; files skipped because their output was
/// already complete count only in `skippedExisting`.
public struct BatchSummary: Equatable, Sendable {
    public let mode: BatchMode
    public let shard: BatchShard
    public let jobs: Int
    /// This shard's inputs.
    public let files: Int
    /// Inputs left to other shards.
    public let otherShards: Int
    /// This shard's entries that are not inputs (other files, links to directories, devices…).
    public let nonInputs: Int
    public var removedTemporaryFiles: Int
    /// Items handled so far, whatever became of them.
    public var finished = 0
    public var done = 0
    public var skippedExisting = 0
    /// Done items whose previous output was there but incomplete.
    public var replacedIncomplete = 0
    public var failures: [BatchFailure]
    /// Bytes read and written by the items done.
    public var inputBytes: Int64 = 0
    public var outputBytes: Int64 = 0
    /// The `.pane` side of the items done (the output when encoding, the input when decoding) and their pixels.
    public var compressedBytes: Int64 = 0
    public var pixels: Int64 = 0
    /// Input bytes of the items not yet finished (as walked).
    public var remainingInputBytes: Int64
    /// Wall time since the run started.
    public var seconds = 0.0

    init(plan: BatchPlan, jobs: Int, removedTemporaryFiles: Int = 0) {
        mode = plan.mode
        shard = plan.shard
        self.jobs = jobs
        files = plan.items.count
        otherShards = plan.otherShards
        nonInputs = plan.nonInputs.count
        self.removedTemporaryFiles = removedTemporaryFiles
        failures = plan.failures
        remainingInputBytes = plan.items.reduce(0) { $0 + $1.inputBytes }
    }

    mutating func add(_ item: BatchItem, _ outcome: BatchOutcome) {
        finished += 1
        remainingInputBytes -= item.inputBytes
        switch outcome {
        case let .done(input, output, compressed, pixels, replaced):
            done += 1
            if replaced { replacedIncomplete += 1 }
            inputBytes += input
            outputBytes += output
            compressedBytes += compressed
            self.pixels += pixels
        case .skippedExisting:
            skippedExisting += 1
        case let .failed(failure):
            failures.append(failure)
        }
    }

    /// Input bytes over output bytes (above 1 when encoding).
    public var ratio: Double? { outputBytes > 0 ? Double(inputBytes) / Double(outputBytes) : nil }
    /// Bits of `.pane` per pixel over all the pixels done (a pixel-weighted mean).
    public var bitsPerPixel: Double? { pixels > 0 ? Double(compressedBytes * 8) / Double(pixels) : nil }
    public var imagesPerSecond: Double? { seconds > 0 ? Double(done) / seconds : nil }
    /// Input megabytes (10⁶ bytes) per second.
    public var megabytesPerSecond: Double? { seconds > 0 ? Double(inputBytes) / 1e6 / seconds : nil }
    /// Remaining input bytes at the input rate so far; nil until a file is done.
    public var etaSeconds: Double? {
        guard inputBytes > 0, seconds > 0 else { return nil }
        return Double(max(0, remainingInputBytes)) / (Double(inputBytes) / seconds)
    }

    private var verb: String { mode == .decode ? "decoded" : "encoded" }

    /// Two lines for people.
    public var text: String {
        var counts = "\(files) files: \(done) \(verb)"
        if replacedIncomplete > 0 { counts += " (\(replacedIncomplete) replacing incomplete outputs)" }
        counts += ", \(skippedExisting) already done, \(failures.count) failed; \(nonInputs) non-image skipped"
        if shard.count > 1 { counts += "; shard \(shard), \(otherShards) files in other shards" }
        if removedTemporaryFiles > 0 { counts += "; \(removedTemporaryFiles) leftover temporary files removed" }
        var sizes = "in \(Self.bytes(inputBytes)) → out \(Self.bytes(outputBytes))"
        if let ratio { sizes += ", ratio \(Self.fixed(ratio, 2))×" }
        if let bitsPerPixel { sizes += ", \(Self.fixed(bitsPerPixel, 4)) bpp" }
        sizes += "; \(Self.fixed(seconds, 1)) s"
        if let imagesPerSecond, let megabytesPerSecond {
            sizes += ", \(Self.fixed(imagesPerSecond, 2)) images/s, \(Self.fixed(megabytesPerSecond, 2)) MB/s"
        }
        return counts + "\n" + sizes
    }

    /// One JSON object on one line; absent rates are `null`.
    public var json: String {
        let failureList = failures.map { "{\"path\": \(jsonString($0.path)), \"reason\": \(jsonString($0.reason))}" }
        let fields: [(String, String)] = [
            ("mode", jsonString(mode == .decode ? "decode" : "encode")),
            ("shard", jsonString(shard.description)),
            ("jobs", "\(jobs)"),
            ("files", "\(files)"),
            ("done", "\(done)"),
            ("skipped_existing", "\(skippedExisting)"),
            ("replaced_incomplete", "\(replacedIncomplete)"),
            ("skipped_non_image", "\(nonInputs)"),
            ("other_shards", "\(otherShards)"),
            ("failed", "\(failures.count)"),
            ("failures", "[" + failureList.joined(separator: ", ") + "]"),
            ("removed_temporary_files", "\(removedTemporaryFiles)"),
            ("input_bytes", "\(inputBytes)"),
            ("output_bytes", "\(outputBytes)"),
            ("pixels", "\(pixels)"),
            ("ratio", Self.jsonNumber(ratio, 4)),
            ("bpp", Self.jsonNumber(bitsPerPixel, 5)),
            ("seconds", Self.fixed(seconds, 3)),
            ("images_per_second", Self.jsonNumber(imagesPerSecond, 3)),
            ("mb_per_second", Self.jsonNumber(megabytesPerSecond, 3)),
        ]
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// The progress line: bar, files finished / total, bytes in → out, ratio, ETA.
    public var progressLine: String {
        let width = 24
        let filled = files > 0 ? finished * width / files : width
        var line = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
        line += "\(finished)/\(files) files  \(Self.bytes(inputBytes)) → \(Self.bytes(outputBytes))"
        if let ratio { line += "  \(Self.fixed(ratio, 1))×" }
        line += "  ETA " + (finished == files ? "0:00" : etaSeconds.map(Self.clock) ?? "?")
        if !failures.isEmpty { line += "  \(failures.count) failed" }
        return line
    }

    /// 999 B, 12.3 kB, 4.56 MB, 7.89 GB (powers of 10).
    static func bytes(_ count: Int64) -> String {
        let value = Double(count)
        switch value {
        case ..<1e3: return "\(count) B"
        case ..<1e6: return fixed(value / 1e3, 1) + " kB"
        case ..<1e9: return fixed(value / 1e6, 2) + " MB"
        default: return fixed(value / 1e9, 2) + " GB"
        }
    }

    /// m:ss, or h:mm:ss from an hour on.
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        let tail = String(format: "%02d:%02d", s / 60 % 60, s % 60)
        return s >= 3600 ? "\(s / 3600):" + tail : "\(s / 60):" + String(format: "%02d", s % 60)
    }

    static func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

    private static func jsonNumber(_ value: Double?, _ digits: Int) -> String { value.map { fixed($0, digits) } ?? "null" }
}

