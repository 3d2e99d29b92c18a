import ArgumentParser
import Foundation
import Pane
import PaneImageIO
import PaneMetrics
import PaneTools

/// Runs the network forward on an image without entropy coding and reports quality and estimated rate.
struct Preview: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the network on an image without writing a stream; report the estimated bpp, PSNR and MS-SSIM.",
        discussion: """
            The rate is the model's likelihood estimate of the coded size; the reconstruction is \
            exactly what the decoder will produce from the quantized latents.
            """
    )

    @Argument(help: "Input image (PNG or JPEG).")
    var input: String

    @Option(name: [.short, .long], parsing: .unconditional, help: "Quality, 0 (smallest) … 100 (best).")
    var quality: Double = 75

    @Option(name: .shortAndLong, help: "Write the reconstruction here (.png, or .jpg/.jpeg for JPEG q95; - for PNG on standard output).")
    var output: String?

    @Flag(name: .shortAndLong, help: "Overwrite the output if it exists.")
    var force = false

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var modelOptions: ModelOptions

    func validate() throws {
        guard (0...100).contains(quality) else { throw ValidationError("--quality must be within 0…100, got \(quality)") }
        if let output { _ = try OutputKind(path: output, netpbm: false) }
    }

    func run() throws {
        if let output { try checkOutput(output, force: force, input: input) }
        let image = try Image(contentsOfFile: input)
        let codec = try modelOptions.loadCodec()
        let start = Date()
        let result = try codec.reconstruct(image, quality: quality)
        let seconds = Date().timeIntervalSince(start)
        let p = try psnr(image, result.image)
        let ms = (image.width >= 161 && image.height >= 161) ? try msSSIM(image, result.image) : nil
        if let output {
            let encoding: ImageEncoding = try OutputKind(path: output, netpbm: false) == .jpeg ? .jpeg(JPEGOptions(quality: 95)) : .png
            try result.image.write(toFile: output, as: encoding)
        }
        // The report goes to standard error when the image goes to standard output.
        let report: (String) -> Void = output == FileIO.standardStream ? note : { print($0) }
        if json {
            var fields = [
                "\"input\": \(jsonString(input))", "\"width\": \(image.width)", "\"height\": \(image.height)",
                "\"quality\": \(quality)", "\"estimated_bpp\": \(fmt(result.estimatedBPP, 5))",
                "\"psnr\": \(fmt(p, 4))", "\"seconds\": \(fmt(seconds, 3))",
            ]
            if let ms { fields.append("\"msssim\": \(fmt(ms, 5))") }
            report("{" + fields.joined(separator: ", ") + "}")
        } else {
            let msText = ms.map { ", MS-SSIM \(fmt($0, 4))" } ?? ""
            report("\(input): \(image.width)×\(image.height) at quality \(fmt(quality, 1)): estimated \(fmt(result.estimatedBPP, 3)) bpp, PSNR \(fmt(p, 2)) dB\(msText) (\(fmt(seconds * 1000, 0)) ms)")
        }
    }
}

func fmt(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }

