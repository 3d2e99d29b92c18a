import Foundation
import PaneImageIO

/// Paths of the files in Fixtures/ (see Fixtures/make_fixtures.py).
enum Fixtures {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(name))
    }

    /// What each PNG fixture must decode to, as make_fixtures.py computed it.
    struct Expected: Decodable {
        var width: Int
        var height: Int
        var channels: Int
        var pixels: [UInt8]
        var alpha: [UInt8]?
    }

    static let expected: [String: Expected] = {
        let json = try! Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode([String: Expected].self, from: json)
    }()
}

/// PSNR in dB over all samples (peak 255), for tests that must not depend on PaneMetrics.
func samplePSNR(_ a: [UInt8], _ b: [UInt8]) -> Double {
    precondition(a.count == b.count)
    let squared = zip(a, b).reduce(0.0) { sum, pair in
        let difference = Double(pair.0) - Double(pair.1)
        return sum + difference * difference
    }
    return 10 * log10(255 * 255 / (squared / Double(a.count)))
}

/// A smooth ramp: r = 255x/(w-1), g = 255y/(h-1), b = 255(x+y)/(w+h-2) — the JPEG fixtures' content.
func rampPixels(width: Int, height: Int) -> [UInt8] {
    var pixels: [UInt8] = []
    for y in 0..<height {
        for x in 0..<width {
            pixels += [UInt8(255 * x / (width - 1)), UInt8(255 * y / (height - 1)),
                       UInt8(255 * (x + y) / (width + height - 2))]
        }
    }
    return pixels
}

/// Offset of the first JPEG marker segment whose code is in `markers`, found by walking the segments after SOI.
func jpegSegmentOffset(_ data: Data, markers: Set<UInt8>) -> Int? {
    let bytes = [UInt8](data)
    var offset = 2
    while offset + 4 <= bytes.count, bytes[offset] == 0xFF {
        if markers.contains(bytes[offset + 1]) { return offset }
        offset += 2 + Int(bytes[offset + 2]) << 8 + Int(bytes[offset + 3])
    }
    return nil
}
