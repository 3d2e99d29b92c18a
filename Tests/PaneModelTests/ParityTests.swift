import Foundation
import Testing
import PaneImageIO
import PaneKernels
import PaneMetrics
@testable import Pane
@testable import PaneModel

/// Paths of the repository, found from this file.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let model = root.appendingPathComponent("Models/pane.json")
    static let fixtures = root.appendingPathComponent("Tests/PaneModelTests/Fixtures")
}

/// Parity of the Swift fp32 runtime with PyTorch, on fixtures written by
/// `Training/export.py` from the shipped model (regenerate both together).
@Suite struct ParityTests {
    static let network: PaneNetwork = try! PaneNetwork(manifestURL: Repo.model)
    let fixture = try! SafeTensors(contentsOf: Repo.fixtures.appendingPathComponent("parity.safetensors"))
    let meta = try! JSONSerialization.jsonObject(
        with: Data(contentsOf: Repo.fixtures.appendingPathComponent("parity.json"))) as! [String: Any]

    func tensor(_ name: String) throws -> Tensor {
        let (shape, values) = try fixture.floats(name)
        return Tensor(channels: shape[0], height: shape[1], width: shape[2], data: values)
    }

    /// max |swift − torch| ≤ 1e-4 · max |torch|.
    func expectClose(_ actual: Tensor, _ expected: Tensor, _ what: String, relative: Float = 1e-4) {
        #expect(actual.channels == expected.channels && actual.height == expected.height && actual.width == expected.width,
                "\(what): shape differs")
        let scale = expected.maxAbs
        var worst: Float = 0
        for i in 0..<min(actual.data.count, expected.data.count) { worst = max(worst, abs(actual.data[i] - expected.data[i])) }
        #expect(worst <= relative * scale, "\(what): max error \(worst) against max |ref| \(scale)")
    }

    @Test func fixturesMatchShippedModel() throws {
        #expect(meta["model_sha256"] as? String == Self.network.manifest.sha256,
                "fixtures were exported from another model: rerun Training/export.py")
    }

    @Test func analysisMatchesPyTorch() throws {
        expectClose(Self.network.g_a(try tensor("x")), try tensor("y"), "g_a")
    }

    @Test func hyperAnalysisMatchesPyTorch() throws {
        expectClose(Self.network.h_a(try tensor("y_gained")), try tensor("z"), "h_a")
    }

    @Test func hyperSynthesisMatchesPyTorch() throws {
        expectClose(Self.network.h_s(try tensor("z_hat")), try tensor("hyper"), "h_s")
    }

    @Test func synthesisMatchesPyTorch() throws {
        let inverse = try fixture.floats("inv_gain").values
        let input = PaneNetwork.scaleChannels(try tensor("y_hat"), inverse)
        expectClose(Self.network.g_s(input), try tensor("x_hat"), "g_s")
    }

    @Test func gainsMatchPyTorch() throws {
        let quality = meta["quality"] as! Double
        let (gain, inverse) = Self.network.gains(quality: quality)
        let refGain = try fixture.floats("gain").values, refInverse = try fixture.floats("inv_gain").values
        for c in 0..<gain.count {
            #expect(abs(gain[c] - refGain[c]) <= 1e-5 * abs(refGain[c]))
            #expect(abs(inverse[c] - refInverse[c]) <= 1e-5 * abs(refInverse[c]))
        }
    }

    /// The whole float path on the crop: entropy parameters and the reconstruction.
    @Test func forwardMatchesPyTorch() throws {
        let out = Self.network.forward(try tensor("x"), quality: meta["quality"] as! Double)
        #expect(out.zHat.data == (try tensor("z_hat")).data, "ẑ differs")
        expectClose(out.means, try tensor("means"), "slice means", relative: 1e-3)
        expectClose(out.scales, try tensor("scales"), "slice scales", relative: 1e-3)
        let yHatRef = try tensor("y_hat")
        let differing = zip(out.yHat.data, yHatRef.data).filter { abs($0 - $1) > 1e-2 }.count
        #expect(differing <= yHatRef.data.count / 1000, "\(differing) of \(yHatRef.data.count) ŷ values differ")
    }

    /// Reconstruction PSNR of the bundled Kodak sample within 0.01 dB of PyTorch's.
    @Test func samplePSNRMatchesPyTorch() throws {
        let image = try Image(contentsOfFile: Repo.root.appendingPathComponent("Samples/\(meta["sample"] as! String)").path)
        let codec = Codec(network: Self.network)
        let result = try codec.reconstruct(image, quality: meta["sample_quality"] as! Double)
        let psnr = try PaneMetrics.psnr(image, result.image)
        let expected = meta["sample_psnr"] as! Double
        #expect(abs(psnr - expected) <= 0.01, "PSNR \(psnr) dB, PyTorch \(expected) dB")
    }
}
