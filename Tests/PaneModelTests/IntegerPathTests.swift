import Foundation
import Testing
import PaneKernels
@testable import PaneModel

/// The integer entropy path gives exactly the integers of `Training/entropy_int.py`.
@Suite struct IntegerPathTests {
    let fixture = try! SafeTensors(contentsOf: Repo.fixtures.appendingPathComponent("parity.safetensors"))
    var network: PaneNetwork { ParityTests.network }

    func ints(_ name: String) throws -> [Int64] { try fixture.ints(name).values.map(Int64.init) }

    func intTensor(fromFloats name: String) throws -> IntegerEntropyModel.IntTensor {
        let (shape, values) = try fixture.floats(name)
        return .init(channels: shape[0], height: shape[1], width: shape[2], data: values.map { Int64($0) })
    }

    @Test func hyperFeaturesAreExact() throws {
        let hyper = network.entropyModel.hyper(try intTensor(fromFloats: "z_hat"))
        #expect(hyper.data == (try ints("int.hyper")))
    }

    @Test func slicesAreExact() throws {
        let model = network.entropyModel
        let hyper = model.hyper(try intTensor(fromFloats: "z_hat"))
        let y = try fixture.floats("y_gained").values
        let size = network.manifest.slices.size, plane = hyper.height * hyper.width
        var means: [Int64] = [], indexes: [Int32] = [], symbols: [Int32] = []
        let yHat = model.runSlices(hyper: hyper, sliceSize: size) { i, mu, index in
            let q = (0..<mu.count).map { j -> Int32 in
                let v = Double(y[i * size * plane + j]) - Double(mu[j]) * pow(2, -Double(model.meanBits))
                return Int32(v.rounded(.toNearestOrEven))
            }
            means += mu; indexes += index; symbols += q
            return q
        }
        #expect(means == (try ints("int.mean")))
        #expect(indexes.map(Int64.init) == (try ints("int.scale_index")))
        #expect(symbols.map(Int64.init) == (try ints("int.symbols")))
        #expect(yHat.data == (try ints("int.y_hat")))
    }
}
