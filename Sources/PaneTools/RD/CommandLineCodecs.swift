import Foundation
import PaneImageIO

/// A codec measured through its command-line encoder and decoder, with the flags of
/// `anchors/README.md` so that the figures compare with the anchors'.
public struct CommandLineRDCodec: RDCodec {
    public let name: String
    public let parameter: String
    public let settings: [Double]
    public let version: String
    let encoder: ExternalTool
    let decoder: ExternalTool
    /// Extension of the compressed file.
    let fileExtension: String
    /// Encoder arguments for a setting, the source PNG and the stream to write.
    let encodeArguments: @Sendable (_ setting: Double, _ source: String, _ stream: String) -> [String]
    /// Decoder arguments for the stream and the PNG to write.
    let decodeArguments: @Sendable (_ stream: String, _ png: String) -> [String]
    /// Seconds one encoder or decoder run may take before it is stopped.
    public var timeout: Double = 600

    public func session(for source: RDSource) throws -> any RDSession { Session(codec: self, source: source) }

    final class Session: RDSession {
        let codec: CommandLineRDCodec
        let source: RDSource

        init(codec: CommandLineRDCodec, source: RDSource) {
            self.codec = codec
            self.source = source
        }

        func code(setting: Double) throws -> RDTrial {
            let directory = source.workspace
            let stem = "\(codec.name)-\(settingText(setting))"
            let stream = directory.appendingPathComponent("\(stem).\(codec.fileExtension)")
            let png = directory.appendingPathComponent("\(stem)-decoded.png")
            defer {
                try? FileManager.default.removeItem(at: stream)
                try? FileManager.default.removeItem(at: png)
            }
            let encode = try codec.encoder.run(codec.encodeArguments(setting, source.png.path, stream.path),
                                               in: directory, timeout: codec.timeout)
            guard let size = (try? FileManager.default.attributesOfItem(atPath: stream.path))?[.size] as? Int, size > 0 else {
                throw RDError.missingOutput(tool: codec.encoder.name, path: stream.lastPathComponent)
            }
            let decode = try codec.decoder.run(codec.decodeArguments(stream.path, png.path), in: directory, timeout: codec.timeout)
            guard FileManager.default.fileExists(atPath: png.path) else {
                throw RDError.missingOutput(tool: codec.decoder.name, path: png.lastPathComponent)
            }
            let decoded = try Image(contentsOfFile: png.path)
            let image = source.image
            guard decoded.width == image.width, decoded.height == image.height else {
                throw RDError.sizeChanged(codec: codec.name, width: image.width, height: image.height,
                                          decodedWidth: decoded.width, decodedHeight: decoded.height)
            }
            return RDTrial(bytes: size, decoded: decoded, encodeSeconds: encode.seconds, decodeSeconds: decode.seconds)
        }
    }
}

extension CommandLineRDCodec {
    /// Names of the codecs measured through command-line tools, in report order.
    public static let names = ["webp", "avif", "jxl", "hevc"]

    /// The codec `name` if its tools are on `path`; otherwise why it cannot run.
    /// - Throws: `RDError.unknownCodec` for a name outside `names`.
    public static func make(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"])
        throws -> Result<CommandLineRDCodec, Unavailable> {
        let tools: [String]
        switch name {
        case "webp": tools = ["cwebp", "dwebp"]
        case "avif": tools = ["avifenc", "avifdec"]
        case "jxl": tools = ["cjxl", "djxl"]
        case "hevc": tools = ["ffmpeg"]
        default: throw RDError.unknownCodec(name, known: names)
        }
        let found = tools.compactMap { ExternalTool($0, path: path) }
        guard found.count == tools.count else {
            let missing = tools.filter { tool in !found.contains { $0.name == tool } }
            return .failure(Unavailable(codec: name, reason: "\(missing.joined(separator: ", ")) not found on PATH"))
        }
        switch name {
        case "webp": return .success(webp(cwebp: found[0], dwebp: found[1]))
        case "avif": return .success(avif(avifenc: found[0], avifdec: found[1]))
        case "jxl": return .success(jxl(cjxl: found[0], djxl: found[1]))
        default:
            guard let encoders = try? found[0].run(["-hide_banner", "-encoders"], in: FileManager.default.temporaryDirectory,
                                                   timeout: 20), encoders.stdout.contains("libx265") else {
                return .failure(Unavailable(codec: name, reason: "ffmpeg has no libx265 encoder"))
            }
            return .success(hevc(ffmpeg: found[0]))
        }
    }

    /// Why a codec was left out of a sweep.
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public let codec: String
        public let reason: String
        public var description: String { "skipping \(codec): \(reason)" }
    }

    /// `cwebp -q Q -m 6 -mt`, quality 5…95 in steps of 5.
    static func webp(cwebp: ExternalTool, dwebp: ExternalTool) -> CommandLineRDCodec {
        CommandLineRDCodec(
            name: "webp", parameter: "quality", settings: stride(from: 5, through: 95, by: 5).map(Double.init),
            version: "cwebp \(cwebp.firstLine(["-version"])) -m 6",
            encoder: cwebp, decoder: dwebp, fileExtension: "webp",
            encodeArguments: { q, source, stream in ["-quiet", "-q", settingText(q), "-m", "6", "-mt", source, "-o", stream] },
            decodeArguments: { stream, png in ["-quiet", stream, "-o", png] })
    }

    /// `avifenc -j 2 -c aom -s 6 -y 444 -d 8 --min Q --max Q` (quantizer 8…56 in steps of 4), decoded by avifdec.
    static func avif(avifenc: ExternalTool, avifdec: ExternalTool) -> CommandLineRDCodec {
        CommandLineRDCodec(
            name: "avif", parameter: "quantizer", settings: stride(from: 8, through: 56, by: 4).map(Double.init),
            version: "avifenc " + before(" (", in: avifenc.firstLine(["--version"]).replacingOccurrences(of: "Version: ", with: ""))
                + ", aom speed 6, 4:4:4",
            encoder: avifenc, decoder: avifdec, fileExtension: "avif",
            encodeArguments: { q, source, stream in
                ["-j", "2", "-c", "aom", "-s", "6", "-y", "444", "-d", "8", "--min", settingText(q), "--max", settingText(q), source, stream]
            },
            decodeArguments: { stream, png in ["-j", "2", "-d", "8", stream, png] })
    }

    /// `cjxl -d D -e 7 --num_threads=2`, distance 0.5…15.
    static func jxl(cjxl: ExternalTool, djxl: ExternalTool) -> CommandLineRDCodec {
        CommandLineRDCodec(
            name: "jxl", parameter: "distance", settings: [0.5, 0.7, 1, 1.4, 2, 2.8, 4, 5.6, 8, 11, 15],
            version: before(" [", in: cjxl.firstLine(["--version"])) + " -e 7",
            encoder: cjxl, decoder: djxl, fileExtension: "jxl",
            encodeArguments: { d, source, stream in [source, stream, "-d", settingText(d), "-e", "7", "--num_threads=2"] },
            decodeArguments: { stream, png in [stream, png, "--num_threads=2"] })
    }

    /// HEVC intra through ffmpeg and libx265: RGB to 4:4:4 BT.601 full-range YCbCr, `-preset veryslow
    /// -tune ssim`, one intra frame at a fixed QP 18…46; the size is that of the raw HEVC stream.
    static func hevc(ffmpeg: ExternalTool) -> CommandLineRDCodec {
        let quiet = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
        return CommandLineRDCodec(
            name: "hevc", parameter: "qp", settings: stride(from: 18, through: 46, by: 2).map(Double.init),
            version: before(" Copyright", in: ffmpeg.firstLine(["-version"])) + ", libx265 veryslow 4:4:4",
            encoder: ffmpeg, decoder: ffmpeg, fileExtension: "hevc",
            encodeArguments: { qp, source, stream in
                quiet + ["-i", source, "-vf", "scale=out_color_matrix=bt601:out_range=full,format=yuv444p",
                         "-color_range", "pc", "-colorspace", "bt470bg", "-frames:v", "1",
                         "-c:v", "libx265", "-preset", "veryslow", "-tune", "ssim",
                         "-x265-params", "keyint=1:qp=\(settingText(qp)):info=0:log-level=error", "-f", "hevc", stream]
            },
            decodeArguments: { stream, png in
                quiet + ["-i", stream, "-vf", "scale=in_color_matrix=bt601:in_range=full,format=rgb24", "-frames:v", "1", png]
            })
    }
}

/// `text` up to the first `marker` (a version banner without its feature list).
private func before(_ marker: String, in text: String) -> String {
    text.range(of: marker).map { String(text[..<$0.lowerBound]) } ?? text
}
