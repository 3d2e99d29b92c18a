import ArgumentParser
import Foundation
import Pane
import PaneImageIO
import PaneKernels
import PaneModel
import PaneTools

/// Per-stage timing of the whole codec on real images.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time each stage of encode and decode (median over repeats) on images.",
        discussion: """
            Stages: load the model (every repeat, as each pane process does), read the image, g_a (analysis, fp32), entropy encode (h_a, the integer \
            entropy path, rANS, container), entropy decode (container, rANS, integer path), \
            g_s (synthesis, fp32), write PNG. GMAC/s is the transform's multiply-accumulates \
            over its time. Training/bench.py runs this beside PyTorch on the same image.
            """
    )

    @Argument(help: "Images (PNG or JPEG); default: Samples/kodim23.png.")
    var images: [String] = []

    @Option(name: [.short, .long], help: "Quality to encode at.")
    var quality: Double = 75

    @Option(name: .long, help: "Runs per image; the median is reported.")
    var repeats: Int = 3

    @Flag(name: .long, help: "Print one JSON object per image.")
    var json = false

    @Flag(name: .long, help: "Also time each layer of g_a and g_s (median over repeats, first image).")
    var layers = false

    @Flag(name: .long, help: ArgumentHelp(
        "Also print the compute floor (first image): each side's multiply-accumulates (int8, int16, fp32) at the GEMM kernels' best single-thread rates times the threads, plus the measured model load and image read / write, beside the measured total of the same stages."))
    var floor = false

    @OptionGroup var modelOptions: ModelOptions

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard (0...100).contains(quality) else { throw ValidationError("--quality must be within 0…100") }
        guard !(floor && json) else { throw ValidationError("--floor prints text: use it without --json") }
    }

    func run() throws {
        let codec = try modelOptions.loadCodec()
        let paths = images.isEmpty ? ["Samples/kodim23.png"] : images
        for path in paths {
            var times: [String: [Double]] = [:]
            func timed<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
                let start = DispatchTime.now().uptimeNanoseconds
                let value = try body()
                times[stage, default: []].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                return value
            }
            var bytes = 0, width = 0, height = 0
            for _ in 0..<repeats {
                _ = try timed("load_model") { try modelOptions.loadCodec() }
                let image = try timed("read") { try Image(contentsOfFile: path) }
                let analysis = try timed("g_a") { try codec.analyze(image) }
                let encoded = try timed("entropy_encode") { try codec.encode(analysis, quality: quality) }
                let latents = try timed("entropy_decode") { try codec.decodeLatents(encoded.bytes) }
                let decoded = timed("g_s") { codec.synthesize(latents) }
                _ = try timed("write_png") { try decoded.encoded(as: .png) }
                (bytes, width, height) = (encoded.bytes.count, image.width, image.height)
            }
            if layers && path == paths[0] { try profileLayers(codec, path: path) }
            let median = times.mapValues { $0.sorted()[$0.count / 2] }
            let (ga, gs) = codec.transformMACs(width: width, height: height)
            let encodeTotal = ["read", "g_a", "entropy_encode"].reduce(0) { $0 + median[$1]! }
            let decodeTotal = ["entropy_decode", "g_s", "write_png"].reduce(0) { $0 + median[$1]! }
            let order = ["load_model", "read", "g_a", "entropy_encode", "entropy_decode", "g_s", "write_png"]
            if json {
                let stages = order.map { "\"\($0)_ms\": \(fmt(median[$0]!, 2))" }.joined(separator: ", ")
                print("{\"image\": \(jsonString(path)), \"width\": \(width), \"height\": \(height), \"bytes\": \(bytes), "
                      + "\"threads\": \(Codec.threads), \(stages), \"encode_ms\": \(fmt(encodeTotal, 2)), "
                      + "\"decode_ms\": \(fmt(decodeTotal, 2)), \"g_a_gmac\": \(fmt(Double(ga) / 1e9, 3)), "
                      + "\"g_s_gmac\": \(fmt(Double(gs) / 1e9, 3))}")
            } else {
                print("\(path): \(width)×\(height), \(bytes) bytes at quality \(fmt(quality, 1)), \(Codec.threads) threads, median of \(repeats)")
                for stage in order { print("  \(stage.padding(toLength: 15, withPad: " ", startingAt: 0)) \(fmt(median[stage]!, 1)) ms") }
                print("  g_a \(fmt(Double(ga) / 1e6 / median["g_a"]!, 1)) GMAC/s, g_s \(fmt(Double(gs) / 1e6 / median["g_s"]!, 1)) GMAC/s")
                print("  encode \(fmt(encodeTotal, 1)) ms, decode \(fmt(decodeTotal, 1)) ms")
                if floor && path == paths[0] { printFloor(codec, width: width, height: height, median) }
            }
        }
    }

    /// What the transforms and the entropy path would take if every multiply-accumulate ran at
    /// the best single-thread rate measured for its GEMM kernel, times the threads, with nothing
    /// else (no element-wise passes, im2col, attention data movement, page faults, rANS): a lower
    /// bound for this network on this machine, to set against the measured stages and the targets.
    private func printFloor(_ codec: Codec, width: Int, height: Int, _ median: [String: Double]) {
        let rates = KernelRates.measure()
        let threads = Double(Codec.threads)
        let (encode, decode) = codec.macCount(width: width, height: height)
        func ms(_ c: MACCount) -> Double {
            1e3 * (Double(c.int8) / rates.int8 + Double(c.int16) / rates.int16 + Double(c.fp32) / rates.fp32) / 1e9 / threads
        }
        func gmac(_ v: Int) -> String { fmt(Double(v) / 1e9, 2) }
        print("  compute floor, \(Codec.threads) threads; GEMM kernels at their best single-thread rate: int8 \(fmt(rates.int8, 1)), "
              + "int16 \(fmt(rates.int16, 1)), fp32 \(fmt(rates.fp32, 1)) GMAC/s")
        for (side, count, fixedStages, networkStages) in [
            ("encode", encode, ["load_model", "read"], ["g_a", "entropy_encode"]),
            ("decode", decode, ["load_model", "write_png"], ["entropy_decode", "g_s"]),
        ] {
            let fixed = fixedStages.reduce(0) { $0 + median[$1]! }
            let measured = (fixedStages + networkStages).reduce(0) { $0 + median[$1]! }
            print("    \(side): int8 \(gmac(count.int8)) + int16 \(gmac(count.int16)) + fp32 \(gmac(count.fp32)) GMAC → "
                  + "\(fmt(ms(count), 1)) ms of GEMMs; + \(fixedStages.joined(separator: " + ")) \(fmt(fixed, 1)) ms = "
                  + "\(fmt(ms(count) + fixed, 1)) ms (measured: \(fmt(measured, 1)) ms)")
        }
    }

    /// Per-layer times of g_a and g_s on one image (as one tile), medians over the repeats.
    private func profileLayers(_ codec: Codec, path: String) throws {
        let image = try Image(contentsOfFile: path)
        let x = Codec.paddedTensor(image)
        let network = codec.network
        var rows: [String: [(String, String, [Double])]] = [:]
        for _ in 0..<repeats {
            let (y, a) = network.g_a.profiled(x)
            let (_, s) = network.g_s.profiled(y)
            for (name, profile) in [("g_a", a), ("g_s", s)] {
                var table = rows[name] ?? profile.map { ($0.layer, $0.shape, []) }
                for i in profile.indices { table[i].2.append(profile[i].ms) }
                rows[name] = table
            }
        }
        for name in ["g_a", "g_s"] {
            let table = rows[name]!.map { ($0.0, $0.1, $0.2.sorted()[$0.2.count / 2]) }
            let total = table.reduce(0) { $0 + $1.2 }
            print("  \(name) layers (\(fmt(total, 1)) ms):")
            for (layer, shape, ms) in table {
                print("    \(layer.padding(toLength: 28, withPad: " ", startingAt: 0)) \(shape.padding(toLength: 14, withPad: " ", startingAt: 0)) "
                      + "\(fmt(ms, 1).padding(toLength: 7, withPad: " ", startingAt: 0)) ms  \(fmt(100 * ms / total, 0))%")
            }
        }
    }
}
