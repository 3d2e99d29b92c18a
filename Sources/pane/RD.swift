import ArgumentParser
import Foundation
import Pane
import PaneTools

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `pane rd`: codes images with Pane and other codecs over a range of settings and writes the
/// rate-distortion report (CSV, JSON, SVG plots, a summary with BD-rates).
struct RD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rd",
        abstract: "Rate-distortion curves of Pane against other codecs.",
        discussion: """
            Codes every image with each codec over its settings (real streams, real decodes) and writes \
            rd.csv (per image), rd.json (averages), rd-psnr.svg, rd-msssim.svg and summary.md (BD-rates, \
            PSNR at 0.25–1 bpp) into the report directory. JPEG runs in process (libjpeg, 4:2:0, optimized); \
            webp, avif, jxl and hevc need cwebp/dwebp, avifenc/avifdec, cjxl/djxl and ffmpeg with libx265, \
            and are skipped with a notice when those are missing.
            """
    )

    static let codecNames = ["pane", "jpeg"] + CommandLineRDCodec.names

    @Argument(help: "Images, or directories searched recursively for PNG and JPEG files.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Report directory (created if needed; its report files are replaced).")
    var output: String

    @Option(name: .long, help: "Pane qualities, comma-separated (default: 0,15,30,45,60,75,90,100).")
    var qualities: String?

    @Option(name: .long, help: "Codecs, comma-separated, from pane, jpeg, webp, avif, jxl, hevc.")
    var codecs = "pane,jpeg,webp,avif,jxl,hevc"

    @Option(name: .long, help: "Images coded at the same time.")
    var jobs = 1

    @Option(name: .long, help: "Reference curves: the anchors' curves CSV, or their per-image directory (averaged over the same images).")
    var anchors: String?

    @Flag(name: .long, help: "Print the averages (rd.json) on stdout.")
    var json = false

    @OptionGroup var modelOptions: ModelOptions

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw ValidationError("-o \(output) exists and is not a directory; rd writes a report directory")
        }
        _ = try paneQualities()
        _ = try codecList()
    }

    func paneQualities() throws -> [Double] {
        guard let qualities else { return PaneRDCodec.defaultQualities }
        let values = qualities.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let numbers = values.compactMap(Double.init)
        guard !values.isEmpty, numbers.count == values.count, numbers.allSatisfy({ (0...100).contains($0) }) else {
            throw ValidationError("--qualities must be comma-separated numbers within 0…100, got '\(qualities)'")
        }
        return Array(Set(numbers)).sorted()
    }

    func codecList() throws -> [String] {
        var names: [String] = []
        for name in codecs.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !names.contains(name) {
            guard Self.codecNames.contains(name) else {
                throw ValidationError("unknown codec '\(name)' in --codecs (known: \(Self.codecNames.joined(separator: ", ")))")
            }
            names.append(name)
        }
        guard !names.isEmpty else { throw ValidationError("--codecs names no codec") }
        return names
    }

    func run() throws {
        let files = try RDImageFile.collect(inputs)
        var notes: [String] = []
        let anchorCurves = try anchors.map { try Anchors.load($0, images: files.map(\.name)) }
        notes += anchorCurves?.notes ?? []

        var selected: [any RDCodec] = []
        for name in try codecList() {
            switch name {
            case "pane": selected.append(PaneRDCodec(codec: try modelOptions.loadCodec(), qualities: try paneQualities()))
            case "jpeg": selected.append(JPEGRDCodec())
            default:
                switch try CommandLineRDCodec.make(name) {
                case let .success(codec): selected.append(codec)
                case let .failure(unavailable):
                    note("pane rd: \(unavailable)")
                    notes.append(unavailable.description)
                }
            }
        }
        guard !selected.isEmpty else { throw ValidationError("none of the codecs asked for can run here") }

        let sweep = RDSweep(codecs: selected, jobs: jobs)
        let reporter = RDProgressPrinter(progress: RDProgress(sweep: sweep, images: files.count), images: files.count,
                                        terminal: isatty(STDERR_FILENO) == 1)
        let start = Date()
        let results = sweep.run(files) { reporter.handle($0) }
        reporter.finish()
        guard !results.measurements.isEmpty else { throw ValidationError("nothing could be measured") }

        let report = RDReport(
            results: results,
            codecs: selected.map { RDReport.CodecInfo(name: $0.name, parameter: $0.parameter, version: $0.version) },
            anchors: anchorCurves?.curves ?? [], anchorSource: anchors, notes: notes, setName: setName(),
            command: (["pane"] + CommandLine.arguments.dropFirst()).map(shellQuoted).joined(separator: " "))
        try report.write(to: URL(fileURLWithPath: output))
        if json { print(report.json(), terminator: "") }
        note("pane rd: \(results.images.count) images, \(results.measurements.count) codings in "
             + "\(RDProgress.duration(Date().timeIntervalSince(start))); report in \(output)")
        if !results.failures.isEmpty {
            note("pane rd: \(results.failures.count) inputs or codings failed (listed above and in the report)")
            throw ExitCode.failure
        }
    }

    /// A single input names the set ("kodak", "kodim01.png"); otherwise the count does.
    private func setName() -> String? {
        guard inputs.count == 1 else { return nil }
        return URL(fileURLWithPath: inputs[0]).standardizedFileURL.lastPathComponent
    }
}

/// Shows a sweep's progress on stderr: a bar redrawn in place on a terminal, else a line per image.
final class RDProgressPrinter: @unchecked Sendable {
    private let progress: RDProgress
    private let images: Int
    private let terminal: Bool
    private let lock = NSLock()
    private var imagesDone = 0
    private var lastDraw = Date.distantPast

    init(progress: RDProgress, images: Int, terminal: Bool) {
        self.progress = progress
        self.images = images
        self.terminal = terminal
    }

    func handle(_ event: RDEvent) {
        progress.record(event)
        lock.withLock {
            switch event {
            case .trial:
                guard terminal, Date().timeIntervalSince(lastDraw) > 0.2 else { return }
                lastDraw = Date()
                write("\r\u{1B}[K" + progress.line())
            case let .image(name, seconds):
                imagesDone += 1
                if terminal {
                    write("\r\u{1B}[K" + progress.line())
                } else {
                    write("[\(imagesDone)/\(images)] \(name) (\(RDProgress.duration(seconds)))\n")
                }
            case let .failure(message):
                write((terminal ? "\r\u{1B}[K" : "") + "pane rd: \(message)\n")
            }
        }
    }

    func finish() {
        if terminal { lock.withLock { write("\r\u{1B}[K") } }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

func shellQuoted(_ argument: String) -> String {
    let plain = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_./=,:+@%"))
    guard !argument.isEmpty, argument.unicodeScalars.allSatisfy(plain.contains) else {
        return "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
    return argument
}
