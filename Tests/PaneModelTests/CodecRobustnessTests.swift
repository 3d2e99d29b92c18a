import Foundation
import Testing
import PaneBitstream
import PaneEntropy
import PaneImageIO
import PaneKernels
@testable import Pane
@testable import PaneModel

/// Codec-level robustness: random latents round-trip exactly; truncated and corrupted streams give
/// an error or a valid image, never a crash or a hang (the test process would die, or time out).
@Suite struct CodecRobustnessTests {
    typealias Generator = KernelTests.Generator
    let codec = Conformance.codec

    /// A 64×64 RGBA image (the top-left of crop_rgba.png) and its stream: decoding is cheap (ŷ is 96×4×4).
    static let small: (image: Image, bytes: [UInt8]) = {
        let crop = try! Conformance.image("crop_rgba.png")
        var pixels: [UInt8] = [], alpha: [UInt8] = []
        for y in 0..<64 {
            for x in 0..<64 {
                let i = y * crop.width + x
                pixels += crop.pixels[(3 * i)..<(3 * i + 3)]
                alpha.append(crop.alpha![i])
            }
        }
        let image = Image(width: 64, height: 64, channels: 3, pixels: pixels, alpha: alpha)
        return (image, try! Conformance.codec.encode(image, quality: 70).bytes)
    }()

    enum Outcome: Hashable { case image, bitstream, entropy, codec, other }

    /// Decodes `bytes`, checking that an image that comes out is one the header describes.
    func outcome(_ bytes: [UInt8]) -> Outcome {
        do {
            let image = try codec.decode(bytes)
            let header = try PaneFile.peekHeader(bytes)
            #expect(image.width == header.width && image.height == header.height)
            #expect(image.isGrayscale == (header.colorLayout == .gray) && (image.alpha != nil) == header.hasAlpha)
            return .image
        } catch is BitstreamError {
            return .bitstream
        } catch is EntropyError {
            return .entropy
        } catch is CodecError {
            return .codec
        } catch {
            return .other
        }
    }

    /// Random latents of random small sizes and magnitudes (some far outside the tables, so the
    /// escape path is taken) → encodeLatent → decodeLatents gives the encoder's ẑ and ŷ exactly.
    @Test func randomLatentsRoundTrip() throws {
        var rng = Generator(state: 2024)
        let m = codec.network.latentChannels
        for trial in 0..<24 {
            let width = Int.random(in: 1...192, using: &rng), height = Int.random(in: 1...128, using: &rng)
            let h = (height + 63) / 64 * 4, w = (width + 63) / 64 * 4
            let spread = Float([0.3, 3, 20, 200][trial % 4])
            var data = (0..<(m * h * w)).map { _ in Float.random(in: -spread...spread, using: &rng) }
            for _ in 0..<3 { data[Int.random(in: 0..<data.count, using: &rng)] = Float.random(in: -1e5...1e5, using: &rng) }
            let y = Tensor(channels: m, height: h, width: w, data: data)
            let quality = Double(Int.random(in: 0...10_000, using: &rng)) / 100
            let gray = Bool.random(using: &rng)
            let alpha = Bool.random(using: &rng) ? (0..<(width * height)).map { _ in UInt8.random(in: 0...255, using: &rng) } : nil
            let encoded = try codec.encodeLatent(y, quality: quality, width: width, height: height, grayscale: gray, alpha: alpha)
            let decoded = try codec.decodeLatents(encoded.bytes)
            #expect(decoded.zHat == encoded.zHat, "trial \(trial): ẑ differs")
            #expect(decoded.yHat == encoded.yHat, "trial \(trial): ŷ differs")
            #expect(decoded.alpha == alpha && decoded.header == encoded.header)
            if trial % 4 == 3 {  // extreme ŷ through g_s: still an image of the header's size
                #expect(outcome(encoded.bytes) == .image)
            }
        }
    }

    /// Every proper prefix of a stream is `truncated` (the container tells it from corruption).
    @Test func everyTruncationIsAnError() {
        let bytes = Self.small.bytes
        var wrong: [Int] = []
        for n in 0..<bytes.count {
            do {
                _ = try codec.decode(Array(bytes[..<n]))
                wrong.append(n)
            } catch let error as BitstreamError where error == .truncated {
            } catch {
                wrong.append(n)
            }
        }
        #expect(wrong.isEmpty, "prefixes not reported as truncated: \(wrong.prefix(10))")
        #expect(outcome(bytes) == .image)
    }

    /// 10,000 random byte changes anywhere in the stream: every byte is under a CRC, so the
    /// container rejects all of them before the entropy decoder or the network runs.
    @Test func randomByteFlipsAreRejected() {
        var rng = Generator(state: 99)
        let bytes = Self.small.bytes
        var outcomes: [Outcome: Int] = [:]
        for _ in 0..<10_000 {
            var b = bytes
            b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            outcomes[outcome(b), default: 0] += 1
        }
        #expect(outcomes[.bitstream] == 10_000, "\(outcomes)")
    }

    /// Corrupt payloads with valid CRCs (as a writer bug or a forged file gives): they reach the
    /// entropy decoder and the integer path. Every one is an error or a valid image; in practice the
    /// rANS end-state check (final state 2^23, every byte consumed) rejects them all before g_s.
    @Test func corruptPayloadsWithValidCRCs() throws {
        var rng = Generator(state: 7)
        let file = try PaneFile(parsing: Self.small.bytes)
        var outcomes: [Outcome: Int] = [:]
        let start = Date()
        for trial in 0..<3_000 {
            var f = file
            let s = Int.random(in: 0..<f.sections.count, using: &rng)
            var payload = f.sections[s].payload
            switch trial % 4 {
            case 0, 1:  // one to three byte changes
                for _ in 0...Int.random(in: 0...2, using: &rng) where !payload.isEmpty {
                    payload[Int.random(in: 0..<payload.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
            case 2:  // cut or extended
                if Bool.random(using: &rng), !payload.isEmpty {
                    payload.removeLast(Int.random(in: 1...payload.count, using: &rng))
                } else {
                    payload += (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                }
            default:  // replaced by random bytes of the same length
                payload = payload.map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            f.sections[s].payload = payload
            outcomes[outcome(f.serialized()), default: 0] += 1
        }
        print("corrupt payloads with valid CRCs: \(outcomes) in \(Int(Date().timeIntervalSince(start) * 1000)) ms")
        #expect(outcomes[.other, default: 0] == 0, "\(outcomes)")
        #expect(outcomes[.entropy, default: 0] > 0)
    }

    /// Header fields changed with the header CRC recomputed: other sizes, layouts, qualities, tilings.
    @Test func forgedHeaders() throws {
        var rng = Generator(state: 11)
        let file = try PaneFile(parsing: Self.small.bytes)
        var outcomes: [Outcome: Int] = [:]
        for trial in 0..<400 {
            var f = file
            switch trial % 6 {
            case 0: f.header.width = Int.random(in: 1...200, using: &rng)
            case 1: f.header.height = Int.random(in: 1...200, using: &rng)
            case 2: f.header.width = Int.random(in: 1...(1 << 20), using: &rng); f.header.height = Int.random(in: 1...(1 << 20), using: &rng)
            case 3: f.header.colorLayout = f.header.colorLayout == .rgb ? .gray : .rgb; f.header.hasAlpha.toggle()
            case 4: f.header.quality = Double(Int.random(in: 0...10_000, using: &rng)) / 100
            default: f.header.tileSize = 64 * Int.random(in: 0...4, using: &rng); f.header.sliceCount = Int.random(in: 1...16, using: &rng)
            }
            outcomes[outcome(f.serialized()), default: 0] += 1
        }
        #expect(outcomes[.other, default: 0] == 0, "\(outcomes)")
        #expect(outcomes[.image, default: 0] > 0)
    }
}

/// Scalar and AVX2 kernels: the integer latents are the same bit for bit, the images nearly so.
/// `CPUPath.force` applies to this test's thread and its workers; the suite runs serially and
/// clears it after each case.
@Suite(.serialized) struct CPUPathConformanceTests {
    let codec = Conformance.codec

    func under<T>(_ path: CPUPath, _ body: () throws -> T) rethrows -> T {
        defer { CPUPath.clearForced() }
        CPUPath.force(path)
        return try body()
    }

    @Test func decodingIsTheSameOnBothPaths() throws {
        let name = try #require(Conformance.pythonStreams.last { $0.hasPrefix("python_small_q") })
        let bytes = try Conformance.load(name).bytes
        let (scalarLatents, scalarImage) = try under(.scalar) { (try codec.decodeLatents(bytes), try codec.decode(bytes)) }
        let (avxLatents, avxImage) = try under(.avx2) { (try codec.decodeLatents(bytes), try codec.decode(bytes)) }
        #expect(scalarLatents.yHat == avxLatents.yHat && scalarLatents.zHat == avxLatents.zHat)
        #expect(Conformance.maxDifference(scalarImage, avxImage) <= 2)
    }

    @Test func streamsOfEitherPathDecodeOnTheOther() throws {
        let image = try Conformance.image("../../../paneTests/Fixtures/small.png")
        let scalar = try under(.scalar) { try codec.encode(image, quality: 55) }
        let avx = try under(.avx2) { try codec.encode(image, quality: 55) }
        #expect(try under(.avx2) { try codec.decodeLatents(scalar.bytes) }.yHat == scalar.yHat)
        #expect(try under(.scalar) { try codec.decodeLatents(avx.bytes) }.yHat == avx.yHat)
        let avxAvailable = under(.avx2) { CPUPath.current } == .avx2
        print("scalar and \(avxAvailable ? "AVX2" : "scalar (no AVX2 here)") encoders wrote \(scalar.bytes == avx.bytes ? "identical" : "different") streams")
    }
}
