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

    /// `runSlices` (one im2col matrix per input part, shared by the slice networks) gives exactly
    /// what the per-network path gives (`sliceParameters`, `residual`: concatenate, then unfold),
    /// on a latent size with ragged edges and symbols that push the contexts around.
    @Test func sharedColumnsMatchThePerNetworkPath() {
        let model = network.entropyModel
        let nz = network.manifest.config.Nz, size = network.manifest.slices.size
        let (h, w) = (5, 7)
        let z = IntegerEntropyModel.IntTensor(channels: nz, height: h, width: w,
                                              data: (0..<(nz * h * w)).map { Int64(($0 * 37) % 11) - 5 })
        let hyper = model.hyper(z)
        let symbolsOf = { (i: Int, count: Int) in (0..<count).map { Int32(($0 * 13 + i * 5) % 9) - 4 } }
        var fastMeans: [[Int64]] = [], fastIndexes: [[Int32]] = []
        let fast = model.runSlices(hyper: hyper, sliceSize: size) { i, mu, index in
            fastMeans.append(mu); fastIndexes.append(index)
            return symbolsOf(i, mu.count)
        }
        var previous: [IntegerEntropyModel.IntTensor] = [], outputs: [IntegerEntropyModel.IntTensor] = []
        for i in 0..<network.manifest.slices.count {
            let (mu, index) = model.sliceParameters(i, hyper: hyper, previous: previous)
            #expect(mu == fastMeans[i] && index == fastIndexes[i], "slice \(i)")
            let q = symbolsOf(i, mu.count)
            var yHat = IntegerEntropyModel.IntTensor(channels: size, height: hyper.height, width: hyper.width,
                                                     data: zip(q, mu).map { Int64($0) << Int64(model.meanBits) + $1 })
            let r = model.residual(i, hyper: hyper, previous: previous, context: model.context(i, yHat))
            for j in 0..<yHat.data.count { yHat.data[j] += r[j] }
            previous.append(model.context(i, yHat))
            outputs.append(yHat)
        }
        #expect(fast == .concatenate(outputs))
        #expect(Set(fastIndexes.joined()).count > 3)  // the scale indexes vary: the search is exercised
    }
}
