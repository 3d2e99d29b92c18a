import ArgumentParser
import Foundation
import Pane
import PaneImageIO
import PaneMetrics

/// Output-file options shared by commands that write one file.
struct OutputOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Output file; - for standard output.")
    var output: String

    @Flag(name: .shortAndLong, help: "Overwrite the output if it exists.")
    var force = false

    func checkWritable(input: String) throws {
        try checkOutput(output, force: force, input: input)
    }
}

/// Refuses an output that would replace something without -f, overwrite the command's own
/// input, or pour binary data onto a terminal. (What -f may replace, and how, is
/// `FileIO.writeAtomically`'s to say: regular files by rename, devices and FIFOs in place.)
func checkOutput(_ output: String, force: Bool, input: String) throws {
    if output == FileIO.standardStream {
        if isatty(STDOUT_FILENO) == 1 {
            throw ValidationError("standard output is a terminal; redirect it or name a file with -o")
        }
        return
    }
    if FileIO.sameFile(input, output) {
        throw ValidationError("\(output) is the input; choose another output")
    }
    if !force && FileIO.exists(output) {
        throw ValidationError("\(output) exists; pass -f to overwrite it")
    }
}

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a PNG or JPEG image into a .pane file.",
        discussion: """
            Pick the size with one of: -q (quality 0…100, default 75), --bpp (target bits per pixel) \
            or --size (target bytes); targets are met by searching the continuous quality.
            """
    )

    @Argument(help: "Input image (PNG or JPEG); - for standard input.")
    var input: String

    @OptionGroup var out: OutputOptions

    @Option(name: [.short, .long], parsing: .unconditional, help: "Quality, 0 (smallest) … 100 (best).")
    var quality: Double?

    @Option(name: .long, parsing: .unconditional, help: "Target bits per pixel (quality found by search).")
    var bpp: Double?

    @Option(name: .long, parsing: .unconditional, help: "Target file size in bytes (quality found by search).")
    var size: Int?

    @Flag(name: .long, help: "With --bpp / --size: fail when even quality 0 is over the target (default: a warning).")
    var strict = false

    @Option(name: .long, help: ArgumentHelp(
        "Tile side in pixels: 0 (one tile) or a multiple of 64; default: one tile up to 1 MP, else 512.",
        valueName: "pixels"))
    var tileSize: Int?

    @Flag(name: .long, help: "Keep every pixel exactly (PNG's row filters and zlib per tile, no network).")
    var lossless = false

    @Option(name: .long, help: ArgumentHelp("Metadata to keep: all (ICC profile, EXIF, XMP), icc, or none.", valueName: "all|icc|none"))
    var metadata: MetadataChoice = .all

    @Flag(name: .long, help: "Also decode and print PSNR / MS-SSIM of the result.")
    var verbose = false

    @OptionGroup var modelOptions: ModelOptions

    func validate() throws {
        if [quality != nil, bpp != nil, size != nil, lossless].filter({ $0 }).count > 1 {
            throw ValidationError("pass only one of -q, --bpp, --size, --lossless")
        }
        if let quality, !(0...100).contains(quality) { throw ValidationError("--quality must be within 0…100, got \(quality)") }
        if let bpp, !(bpp > 0 && bpp < 64) { throw ValidationError("--bpp must be in (0, 64), got \(bpp)") }
        if let size, size < 64 || size > 1 << 40 { throw ValidationError("--size must be within 64 bytes … 1 TiB, got \(size)") }
        if let tileSize, tileSize < 0 || tileSize % 64 != 0 || tileSize > CodecLimits.maxTileSize {
            throw ValidationError("--tile-size must be 0 or a multiple of 64 up to \(CodecLimits.maxTileSize), got \(tileSize)")
        }
    }

    func run() throws {
        try out.checkWritable(input: input)
        var image = try Image(contentsOfFile: input)
        for line in image.readingNotes { note("note: \(input): \(line)") }
        image.metadata = metadata.kept(of: image.metadata)
        let codec = try modelOptions.loadCodec()
        let start = Date()
        let progress = TileProgress.onTerminal(label: "analysing")
        defer { progress?.clear() }
        let show: Codec.Progress? = progress.map { p in { done, total in p.show(done, total) } }
        let encoded: Codec.Encoded
        if lossless {
            encoded = try codec.encodeLossless(image, tileSize: tileSize)
        } else if let target = bpp.map({ $0 * Double(image.width * image.height) / 8 }) ?? size.map(Double.init) {
            encoded = try codec.encode(image, targetBytes: Int(target), tileSize: tileSize, progress: show)
            if Double(encoded.bytes.count) > target {
                let message = "\(input): even quality 0 takes \(encoded.bytes.count) bytes, over the target of \(Int(target))"
                if strict { throw ValidationError(message) }
                note("warning: " + message)
            }
        } else {
            encoded = try codec.encode(image, quality: quality ?? 75, tileSize: tileSize, progress: show)
        }
        let seconds = Date().timeIntervalSince(start)
        try FileIO.writeAtomically(Data(encoded.bytes), to: out.output)
        let bits = Double(encoded.bytes.count * 8) / Double(image.width * image.height)
        var line = "\(out.output): \(encoded.bytes.count) bytes, \(fmt(bits, 4)) bpp (\(fmt(seconds * 1000, 0)) ms)"
        if verbose {
            let decoded = codec.reconstruction(of: encoded)
            line += ", PSNR \(fmt(try psnr(image, decoded), 2)) dB"
            if image.width >= 161 && image.height >= 161 {
                line += ", MS-SSIM \(fmt(try msSSIM(image, decoded), 4))"
            }
        }
        note(line)
    }
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode a .pane file to PNG (or JPEG / PPM, chosen by the output's extension; PNG to standard output)."
    )

    @Argument(help: "Input .pane file; - for standard input.")
    var input: String

    @OptionGroup var out: OutputOptions

    @OptionGroup var modelOptions: ModelOptions

    func validate() throws {
        _ = try OutputKind(path: out.output)
    }

    func run() throws {
        try out.checkWritable(input: input)
        let bytes = [UInt8](try FileIO.contents(ofFile: input))
        let codec = try modelOptions.loadCodec(decoding: bytes)
        let progress = TileProgress.onTerminal(label: "synthesising")
        let show: Codec.Progress? = progress.map { p in { done, total in p.show(done, total) } }
        let image = try codec.decode(bytes, progress: show)
        progress?.clear()
        switch try OutputKind(path: out.output) {
        case .jpeg:
            guard image.alpha == nil else { throw ValidationError("JPEG cannot hold the image's alpha; write PNG") }
            let encoding = ImageEncoding.jpeg(JPEGOptions(quality: 95))
            let dropped = image.metadataNotWritten(as: encoding)
            if !dropped.isEmpty { note("note: \(dropped.joined(separator: ", ")) too large for a JPEG segment, left out") }
            try image.write(toFile: out.output, as: encoding)
        case .netpbm:
            if !image.metadata.isEmpty { note("note: PPM holds no metadata; \(image.metadata.summary) left out") }
            try FileIO.writeAtomically(Data(netpbm(image)), to: out.output)
        case .png:
            try image.write(toFile: out.output, as: .png)
        }
    }

    /// Binary PPM (RGB) or PGM (gray); alpha is dropped as the format has none.
    private func netpbm(_ image: Image) -> [UInt8] {
        let magic = image.isGrayscale ? "P5" : "P6"
        return Array("\(magic)\n\(image.width) \(image.height)\n255\n".utf8) + image.pixels
    }
}

/// The image file `decode` (and `preview -o`) writes, by the output's extension.
enum OutputKind {
    case png, jpeg, netpbm

    /// - Throws: `ValidationError` naming the extensions there are, for any other.
    init(path: String, netpbm allowed: Bool = true) throws {
        // Standard output, a device or a FIFO (e.g. /dev/null) has no extension: PNG.
        var status = stat()
        if path == FileIO.standardStream || (stat(path, &status) == 0 && [S_IFCHR, S_IFIFO].contains(status.st_mode & S_IFMT)) {
            self = .png
            return
        }
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg": self = .jpeg
        case "ppm" where allowed, "pgm" where allowed: self = .netpbm
        case let ext:
            let known = allowed ? ".png, .jpg / .jpeg, .ppm / .pgm" : ".png, .jpg / .jpeg"
            throw ValidationError("\(path): \(ext.isEmpty ? "no extension" : "unsupported extension ." + ext); write \(known), or - for PNG on standard output")
        }
    }
}

/// Which metadata `encode` keeps (cjxl keeps all by default, as here).
enum MetadataChoice: String, ExpressibleByArgument, CaseIterable {
    case all, icc, none

    func kept(of metadata: ImageMetadata) -> ImageMetadata {
        switch self {
        case .all: return metadata
        case .icc: return ImageMetadata(icc: metadata.icc)
        case .none: return ImageMetadata()
        }
    }
}

/// "label tile 3/48" on a terminal's stderr while a tiled image is transformed.
final class TileProgress {
    private let label: String

    private init(label: String) { self.label = label }

    /// A progress line if stderr is a terminal, else nil.
    static func onTerminal(label: String) -> TileProgress? {
        isatty(STDERR_FILENO) == 1 ? TileProgress(label: label) : nil
    }

    func show(_ done: Int, _ total: Int) {
        guard total > 1 else { return }
        FileHandle.standardError.write(Data("\r\(label) tile \(done)/\(total)\u{1B}[K".utf8))
    }

    func clear() { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
}
