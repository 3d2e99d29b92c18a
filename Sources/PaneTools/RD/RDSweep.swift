import Foundation
import PaneImageIO
import PaneMetrics

/// An image file to measure and the name it goes by in the report.
public struct RDImageFile: Sendable, Equatable {
    public let path: String
    /// The path below the directory it was found in, or the file name for a file given directly.
    public let name: String

    public init(path: String, name: String) {
        self.path = path
        self.name = name
    }

    /// The PNG and JPEG files of `inputs`: files as given, directories walked recursively
    /// (by extension: .png, .jpg, .jpeg, any case), each directory's files in name order.
    /// - Throws: `RDError.missingInput` for a path that does not exist, `.noImages` when none is found.
    public static func collect(_ inputs: [String]) throws -> [RDImageFile] {
        let fm = FileManager.default
        var files: [RDImageFile] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: input, isDirectory: &isDirectory) else { throw RDError.missingInput(input) }
            guard isDirectory.boolValue else {
                files.append(RDImageFile(path: input, name: URL(fileURLWithPath: input).lastPathComponent))
                continue
            }
            let root = URL(fileURLWithPath: input).standardizedFileURL
            guard let walker = fm.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
                throw RDError.missingInput(input)
            }
            var found: [RDImageFile] = []
            for case let url as URL in walker where ["png", "jpg", "jpeg"].contains(url.pathExtension.lowercased()) {
                // A link to an image counts as the image.
                guard (try? url.resolvingSymlinksInPath().resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true
                else { continue }
                let full = url.standardizedFileURL.path
                let name = full.hasPrefix(root.path + "/") ? String(full.dropFirst(root.path.count + 1)) : url.lastPathComponent
                found.append(RDImageFile(path: full, name: name))
            }
            files += found.sorted { $0.name.localizedStandardCompare($1.name) == .orderedAscending }
        }
        guard !files.isEmpty else { throw RDError.noImages(inputs) }
        // Two inputs may hold files of the same name; the report then names them by path.
        let counts = Dictionary(files.map { ($0.name, 1) }, uniquingKeysWith: +)
        return files.map { counts[$0.name]! > 1 ? RDImageFile(path: $0.path, name: $0.path) : $0 }
    }
}

/// One codec at one setting on one image.
public struct RDMeasurement: Sendable, Equatable {
    public let codec: String
    public let setting: Double
    public let image: String
    public let width: Int
    public let height: Int
    public let bytes: Int
    /// PSNR over R, G and B (PaneMetrics `psnr`), dB.
    public let psnr: Double
    /// MS-SSIM (PaneMetrics `msSSIM`); nil when a side is 160 pixels or less.
    public let msssim: Double?
    public let encodeSeconds: Double
    public let decodeSeconds: Double

    public init(codec: String, setting: Double, image: String, width: Int, height: Int, bytes: Int,
                psnr: Double, msssim: Double?, encodeSeconds: Double, decodeSeconds: Double) {
        self.codec = codec
        self.setting = setting
        self.image = image
        self.width = width
        self.height = height
        self.bytes = bytes
        self.psnr = psnr
        self.msssim = msssim
        self.encodeSeconds = encodeSeconds
        self.decodeSeconds = decodeSeconds
    }

    /// Bits per pixel: bytes × 8 / (width × height).
    public var bpp: Double { Double(bytes * 8) / Double(width * height) }
}

/// What a sweep tells its caller while it runs; delivered from worker threads.
public enum RDEvent: Sendable {
    /// A codec coded an image at a setting in `seconds` (encode, decode and metrics together).
    case trial(codec: String, setting: Double, image: String, seconds: Double)
    /// Every codec has finished an image.
    case image(name: String, seconds: Double)
    /// Something was left out: an unreadable image, or one failed coding.
    case failure(String)
}

/// Everything a sweep measured.
public struct RDResults: Sendable {
    /// Images that were read, in input order.
    public let images: [RDImageFile]
    /// Per image, codec (in sweep order) and setting (in the codec's order).
    public let measurements: [RDMeasurement]
    /// One line per thing left out.
    public let failures: [String]
}

/// Codes every image with every codec at every setting and measures the results.
public struct RDSweep: Sendable {
    public var codecs: [any RDCodec]
    /// Images coded at the same time.
    public var jobs: Int
    /// Where per-image scratch directories are made.
    public var scratch: URL

    public init(codecs: [any RDCodec], jobs: Int = 1, scratch: URL = FileManager.default.temporaryDirectory) {
        self.codecs = codecs
        self.jobs = max(1, jobs)
        self.scratch = scratch
    }

    /// Trials in a sweep over `imageCount` images (for progress).
    public func trialCount(images imageCount: Int) -> Int { imageCount * codecs.reduce(0) { $0 + $1.settings.count } }

    public func run(_ files: [RDImageFile], events: @escaping @Sendable (RDEvent) -> Void = { _ in }) -> RDResults {
        let state = SweepState(count: files.count)
        let workers = min(jobs, files.count)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let index = state.next() {
                let (result, seconds) = measureTime { measure(files[index], events: events) }
                state.store(index, result)
                if result.measurements != nil { events(.image(name: files[index].name, seconds: seconds)) }
            }
        }
        let done = state.results
        let read = files.indices.filter { done[$0]?.measurements != nil }
        return RDResults(images: read.map { files[$0] },
                         measurements: read.flatMap { done[$0]!.measurements! },
                         failures: files.indices.flatMap { done[$0]?.failures ?? [] })
    }

    /// All codecs on one image; nil measurements when the image cannot be read.
    private func measure(_ file: RDImageFile, events: @escaping @Sendable (RDEvent) -> Void) -> ImageResult {
        let fail = { (message: String) -> String in
            events(.failure(message))
            return message
        }
        let workspace = scratch.appendingPathComponent("pane-rd-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: workspace) }
        let source: RDSource
        do {
            let read = try Image(contentsOfFile: file.path)
            // Alpha is left out: the metrics see colour only, and JPEG cannot carry it.
            let image = Image(width: read.width, height: read.height, channels: read.channels, pixels: read.pixels)
            try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
            let png = workspace.appendingPathComponent("source.png")
            try image.write(toFile: png.path, as: .png)
            source = RDSource(image: image, workspace: workspace, png: png)
        } catch {
            return ImageResult(measurements: nil, failures: [fail("\(file.path): \(error)")])
        }
        let image = source.image
        let hasMSSSIM = min(image.width, image.height) > 160
        var measurements: [RDMeasurement] = []
        var failures: [String] = []
        for codec in codecs {
            let session: any RDSession
            do {
                session = try codec.session(for: source)
            } catch {
                failures.append(fail("\(codec.name) on \(file.name): \(error)"))
                continue
            }
            for setting in codec.settings {
                do {
                    let (trial, seconds) = try measureTime { () throws -> RDTrial in try session.code(setting: setting) }
                    let (quality, metricSeconds) = try measureTime { () throws -> (Double, Double?) in
                        (try psnr(image, trial.decoded), hasMSSSIM ? try msSSIM(image, trial.decoded) : nil)
                    }
                    measurements.append(RDMeasurement(
                        codec: codec.name, setting: setting, image: file.name, width: image.width, height: image.height,
                        bytes: trial.bytes, psnr: quality.0, msssim: quality.1,
                        encodeSeconds: trial.encodeSeconds, decodeSeconds: trial.decodeSeconds))
                    events(.trial(codec: codec.name, setting: setting, image: file.name, seconds: seconds + metricSeconds))
                } catch {
                    failures.append(fail("\(codec.name) \(codec.parameter) \(settingText(setting)) on \(file.name): \(error)"))
                }
            }
        }
        return ImageResult(measurements: measurements, failures: failures)
    }

    struct ImageResult: Sendable {
        let measurements: [RDMeasurement]?
        let failures: [String]
    }

    /// The work queue and the results slots, shared by the workers.
    final class SweepState: @unchecked Sendable {
        private let lock = NSLock()
        private var nextIndex = 0
        private let count: Int
        private var slots: [ImageResult?]

        init(count: Int) {
            self.count = count
            slots = Array(repeating: nil, count: count)
        }

        func next() -> Int? {
            lock.withLock {
                guard nextIndex < count else { return nil }
                defer { nextIndex += 1 }
                return nextIndex
            }
        }

        func store(_ index: Int, _ result: ImageResult) { lock.withLock { slots[index] = result } }

        var results: [ImageResult?] { lock.withLock { slots } }
    }
}
