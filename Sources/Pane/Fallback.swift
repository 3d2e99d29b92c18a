import Foundation
import PaneImageIO

/// The lossless fallback for content the network does not serve (screenshots, icons, line art):
/// a tile is coded exactly instead when that is no larger than its latents, or when the network's
/// reconstruction misses the fidelity floor of the quality asked for.
///
/// Only small tiles (at most `maxCandidatePixels`, e.g. icons), tiles of at most `maxColours`
/// distinct colours and flat tiles (`minFlatFraction`) are looked at (`isCandidate`): checking
/// needs the tile's lossless payload and the lossy reconstruction (g_s); photos, whose tiles are
/// large, of thousands of colours and not flat, are neither slower nor changed by it.
public enum Fallback {
    /// Distinct colours (alpha included) above which a tile is taken for a photo.
    public static let maxColours = 256
    /// Tiles of at most this many pixels are always checked (128²: icons, thumbnails).
    public static let maxCandidatePixels = 128 * 128

    struct Samples: Sendable {
        let withAlpha: [UInt8]
        let colour: [UInt8]
    }

    /// The lowest PSNR (dB, RGB) a tile decoded by the network may have at `quality` before it
    /// is coded losslessly: 23 + 0.08 × quality (27 dB at q50, 30.2 at q90, 31 at q100), about
    /// 3.5 dB under what the model gives Kodak's photos at the same quality.
    public static func fidelityFloor(quality: Double) -> Double { 23 + 0.08 * quality }

    /// Tiles where at least this fraction of pixels equal their left neighbour are checked:
    /// screenshots and drawings (0.82–0.92 in Tests/PaneImageIOTests/Fixtures/graphics); at most
    /// 0.20 on Kodak, and above 0.5 for 21 of the first 400 training photos.
    public static let minFlatFraction = 0.5

    /// Whether the tile is small, has at most `maxColours` distinct colours, or is flat (see
    /// `minFlatFraction`). One pass; colours stop being counted past the limit.
    static func isCandidate(_ image: Image, tile: TileGrid.Tile) -> Bool {
        if tile.width * tile.height <= maxCandidatePixels { return true }
        var seen = Set<UInt32>()
        var flat = 0
        let channels = image.channels
        return image.pixels.withUnsafeBufferPointer { pixels in
            for row in 0..<tile.height {
                var left: UInt32? = nil
                for x in 0..<tile.width {
                    let i = (tile.y + row) * image.width + tile.x + x
                    var key = UInt32(image.alpha?[i] ?? 255) << 24
                    for c in 0..<channels { key |= UInt32(pixels[i * channels + c]) << (8 * c) }
                    if key == left { flat += 1 }
                    left = key
                    if seen.count <= maxColours { seen.insert(key) }
                }
            }
            return seen.count <= maxColours || Double(flat) >= minFlatFraction * Double(tile.width * tile.height)
        }
    }

    /// PSNR of two equal-length sample arrays (infinite when identical).
    static func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
        var total = 0.0
        for i in 0..<a.count { let d = Double(a[i]) - Double(b[i]); total += d * d }
        guard total > 0 else { return .infinity }
        return 10 * log10(255 * 255 * Double(a.count) / total)
    }
}
