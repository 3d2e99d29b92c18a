import PaneImageIO
@testable import PaneMetrics
import Testing

/// PSNR and MS-SSIM against reference_metrics.py (torch, float64, pytorch_msssim's steps).
@Suite struct MetricsTests {
    static let width = 200, height = 168

    static func mix(_ x: Int, _ y: Int, _ c: Int) -> Int {
        let h = UInt32(truncatingIfNeeded: (x * 73856093) ^ (y * 19349663) ^ (c * 83492791))
        return Int((h &* 2654435761) >> 7)
    }

    /// ref(x, y, c) = ((5x + 3y + 50c) xor (x*y >> 5)) & 255, as in reference_metrics.py.
    static func image(_ sample: (_ reference: Int, _ x: Int, _ y: Int, _ c: Int) -> Int) -> Image {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    let reference = ((5 * x + 3 * y + 50 * c) ^ ((x * y) >> 5)) & 255
                    pixels.append(UInt8(sample(reference, x, y, c)))
                }
            }
        }
        return Image(width: width, height: height, channels: 3, pixels: pixels)
    }

    static let reference = image { value, _, _, _ in value }
    static let noisy = image { value, x, y, c in min(max(value + mix(x, y, c) % 41 - 20, 0), 255) }
    static let posterized = image { value, _, _, _ in value / 32 * 32 + 16 }

    @Test func psnrMatchesReference() throws {
        #expect(abs(try psnr(Self.reference, Self.noisy) - 26.8419909240) < 1e-8)
        #expect(abs(try psnr(Self.reference, Self.posterized) - 28.7661070273) < 1e-8)
    }

    @Test func msSSIMMatchesReference() throws {
        #expect(abs(try msSSIM(Self.reference, Self.noisy) - 0.9904821772) < 1e-8)
        #expect(abs(try msSSIM(Self.reference, Self.posterized) - 0.9901405535) < 1e-8)
    }

    @Test func identicalImages() throws {
        #expect(try psnr(Self.noisy, Self.noisy) == .infinity)
        #expect(abs(try msSSIM(Self.noisy, Self.noisy) - 1) < 1e-12)
    }

    @Test func grayCountsAsThreeEqualChannels() throws {
        let grayA = Image(width: 170, height: 170, channels: 1, pixels: (0..<(170 * 170)).map { (i: Int) -> UInt8 in UInt8(i % 251) })
        let grayB = Image(width: 170, height: 170, channels: 1, pixels: (0..<(170 * 170)).map { (i: Int) -> UInt8 in UInt8(i % 241) })
        let rgbB = Image(width: 170, height: 170, channels: 3, pixels: grayB.pixels.flatMap { [$0, $0, $0] })
        #expect(try psnr(grayA, grayB) == psnr(grayA, rgbB))
        #expect(try msSSIM(grayA, grayB) == msSSIM(grayA, rgbB))
    }

    @Test func refusesMismatchedOrSmallImages() {
        let small = Image(width: 160, height: 200, channels: 1, pixels: [UInt8](repeating: 0, count: 32000))
        #expect(throws: MetricsError.sizeMismatch(width: 200, height: 168, otherWidth: 160, otherHeight: 200)) {
            try psnr(Self.reference, small)
        }
        #expect(throws: MetricsError.tooSmall(width: 160, height: 200, minimumSide: 160)) {
            try msSSIM(small, small)
        }
    }

    /// avg_pool2d(kernel 2, padding 1) on a 3x3 plane: zero pad counted, so corners are a quarter.
    @Test func poolingPadsOddSidesLikePyTorch() {
        let plane = Plane(width: 3, height: 3, values: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let pooled = plane.averagePooled()
        #expect(pooled.width == 2 && pooled.height == 2)
        #expect(pooled.values == [0.25, 1.25, 2.75, 7])  // 1/4, (2+3)/4, (4+7)/4, (5+6+8+9)/4
        let even = Plane(width: 4, height: 2, values: [1, 2, 3, 4, 5, 6, 7, 8]).averagePooled()
        #expect(even.width == 2 && even.height == 1 && even.values == [3.5, 5.5])
    }
}
