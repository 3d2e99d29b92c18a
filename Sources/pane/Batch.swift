import ArgumentParser
import Foundation
import Pane
import PaneTools

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Batch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress (or decode) a whole directory tree.",
        discussion: """
            Mirrors SRC under DST: a/b/c.png (or .jpg, .jpeg) becomes a/b/c.pane; with --decode, \
            a/b/c.pane becomes a/b/c.png. Other files are skipped and counted. Outputs are written \
            to a temporary file and renamed, so a rerun after any interruption skips complete \
            outputs, redoes incomplete ones and removes leftover temporary files. A file that fails \
            is reported and the batch goes on; the exit status is 1 if any failed. --jobs images \
            are coded at once, each on --threads threads (default max(1, cores / jobs)). \
            --shard I/N does the files whose path hash modulo N is I, so N machines can share a \
            tree with no coordination.
            """
    )

    @Argument(help: ArgumentHelp("Source directory.", valueName: "src"))
    var source: String

    @Argument(help: ArgumentHelp("Destination directory (created if missing).", valueName: "dst"))
    var destination: String

    @Option(name: [.short, .long], parsing: .unconditional, help: "Quality, 0 (smallest) … 100 (best); default 75.")
    var quality: Double?

    @Option(name: .long, help: "Target bits per pixel for each image (quality found by search).")
    var bpp: Double?

    @Option(name: .long, help: "Images coded at a time (default: the core count).")
    var jobs: Int?

    @Option(name: .long, help: ArgumentHelp("Do only shard I of N (0-based): files whose path hash modulo N is I.",
                                            valueName: "i/n"))
    var shard: String?

    @Flag(name: .long, help: "Decode .pane files to PNG instead of encoding images.")
    var decode = false

    @Flag(name: .long, help: "List what would be done, and the counts; write nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Print the summary as one JSON object on stdout.")
    var json = false

    @Option(name: .long, help: ArgumentHelp(
        "Model: a release name (Models/releases.json) or a manifest path (default: $PANE_MODEL, else the default release; --decode: each stream's release).",
        valueName: "release-or-manifest"))
    var model: String?

    @Option(name: .long, help: "Threads per image (default: max(1, cores / jobs)).")
    var threads: Int?

    func validate() throws {
        if quality != nil && bpp != nil { throw ValidationError("pass only one of -q, --bpp") }
        if decode && (quality != nil || bpp != nil) { throw ValidationError("--decode takes no -q or --bpp") }
        if let quality, !(0...100).contains(quality) { throw ValidationError("--quality must be within 0…100, got \(quality)") }
        if let bpp, !(bpp > 0 && bpp < 64) { throw ValidationError("--bpp must be in (0, 64), got \(bpp)") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        do {
            _ = try shard.map(BatchShard.init(parsing:))
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        let mode: BatchMode = decode ? .decode : .encode(bpp.map(BatchRate.bitsPerPixel) ?? .quality(quality ?? 75))
        let plan = BatchPlan(listing: try BatchWalker.walk(source, excluding: destination), mode: mode,
                             shard: try shard.map(BatchShard.init(parsing:)) ?? .all)
        for failure in plan.failures { note(failure.description) }
        if dryRun {
            let dry = BatchDryRun(plan: plan, destination: destination)
            if json {
                print(dry.json)
            } else {
                dry.lines.forEach { print($0) }
                note(dry.text)
            }
            if !plan.failures.isEmpty { throw ExitCode.failure }
            return
        }
        let jobs = self.jobs ?? ProcessInfo.processInfo.activeProcessorCount
        Codec.threads = threads ?? BatchRunner.threadsPerImage(jobs: jobs)
        let codec = try Codec.named(model)
        let named = model != nil || !(ProcessInfo.processInfo.environment["PANE_MODEL"] ?? "").isEmpty
        let decoders = decode && !named ? ReleaseCodecs(try ModelReleases.locate()) : nil
        let progress = isatty(2) == 1 ? ProgressLine() : nil
        let runner = BatchRunner(plan: plan, source: source, destination: destination, codec: codec,
                                 decoders: decoders, jobs: jobs)
        let summary = try runner.run { _, outcome, summary in
            if case let .failed(failure) = outcome {
                progress?.clear()
                note(failure.description)
            }
            progress?.show(summary)
        }
        progress?.clear()
        if json { print(summary.json) } else { note(summary.text) }
        if !summary.failures.isEmpty { throw ExitCode.failure }
    }
}

/// The progress line on a terminal's stderr, redrawn in place at most ten times a second.
private final class ProgressLine {
    private var lastDraw = 0.0

    func show(_ summary: BatchSummary) {
        let now = Date().timeIntervalSinceReferenceDate
        guard now - lastDraw >= 0.1 || summary.finished == summary.files else { return }
        lastDraw = now
        write("\r" + String(summary.progressLine.prefix(max(20, columns() - 1))) + "\u{1B}[K")
    }

    func clear() { write("\r\u{1B}[K") }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    private func columns() -> Int {
        var size = winsize()
        return ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
    }
}
