import PaneMetrics
import Testing

@Suite struct BDRateTests {
    static let anchor: [(rate: Double, psnr: Double)] = [(0.12, 27.1), (0.25, 29.8), (0.5, 32.6), (0.9, 35.0), (1.6, 37.9)]

    @Test func identicalCurvesGiveZero() throws {
        #expect(abs(try #require(bdRate(anchor: Self.anchor, test: Self.anchor))) < 1e-12)
    }

    @Test func halfTheRateGivesMinusFifty() throws {
        let half = Self.anchor.map { (rate: $0.rate / 2, psnr: $0.psnr) }
        #expect(abs(try #require(bdRate(anchor: Self.anchor, test: half)) + 50) < 1e-9)
        #expect(abs(try #require(bdRate(anchor: half, test: Self.anchor)) - 100) < 1e-9)
    }

    /// Against reference_metrics.py (PCHIP sampled densely and integrated by trapezoids).
    @Test func matchesReference() throws {
        let test: [(rate: Double, psnr: Double)] = [(0.10, 27.9), (0.21, 30.4), (0.43, 33.5), (0.80, 35.4), (1.35, 38.4), (2.0, 39.0)]
        #expect(abs(try #require(bdRate(anchor: Self.anchor, test: test)) - -27.3629103378) < 1e-6)
        #expect(abs(try #require(bdRate(anchor: Self.anchor, test: test.reversed())) - -27.3629103378) < 1e-6)
    }

    @Test func twoPointsAreLinear() throws {
        // log-rate linear in PSNR on both; the test curve is 10% cheaper everywhere.
        let anchor: [(rate: Double, psnr: Double)] = [(1, 30), (2, 36)]
        let test: [(rate: Double, psnr: Double)] = [(0.9, 30), (1.8, 36)]
        #expect(abs(try #require(bdRate(anchor: anchor, test: test)) + 10) < 1e-9)
    }

    @Test func nilWithoutOverlapOrOnBadInput() {
        let high: [(rate: Double, psnr: Double)] = [(2, 40), (3, 42)]
        #expect(bdRate(anchor: Self.anchor, test: high) == nil)
        #expect(bdRate(anchor: Self.anchor, test: [(1, 30)]) == nil)
        #expect(bdRate(anchor: Self.anchor, test: [(1, 30), (2, 30)]) == nil)
        #expect(bdRate(anchor: Self.anchor, test: [(0, 30), (2, 33)]) == nil)
    }
}
