import PaneImageIO
import PaneKernels

/// How an image is cut into independently coded tiles (`PaneHeader.tileSize`, Format.swift
/// "Tiles"): columns of `tileSize` pixels from the left, rows from the top, the last ones
/// smaller. Tile size 0 is one tile covering the image.
///
/// Each tile's latent is coded on its own (its own ẑ and slice streams), so a decoder can
/// take the tiles in any order or in parallel. The transforms look past the tile: g_a sees
/// `halo` pixels of the neighbours and g_s rebuilds each tile from its latent plus `halo / 16`
/// latent rows and columns of the neighbours, so tile borders are not seams.
public struct TileGrid: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let tileSize: Int

    /// Tile side used when the caller does not choose one and the image is over `autoTilePixels`.
    /// Measured on a 2048² photo at quality 50 (see README "Large images"): 512-px tiles took
    /// 2% fewer bits than one tile at the same PSNR, 21% less time and a sixth of the memory.
    public static let defaultTileSize = 512
    /// Images with more pixels than this are tiled by default (whole-image coding holds about
    /// 200 bytes per pixel at the network's widest layer).
    public static let autoTilePixels = 1024 * 1024
    /// Context around a tile, in pixels. A multiple of 64, so every transform region starts on
    /// the window grid of both attention stages (8 × 4 px and 4 × 16 px) and on the latent grid.
    public static let halo = 64

    /// REQUIRES: `tileSize` is 0 or a positive multiple of `Codec.alignment`.
    public init(width: Int, height: Int, tileSize: Int) {
        precondition(tileSize >= 0 && tileSize % Codec.alignment == 0, "tile size \(tileSize)")
        self.width = width
        self.height = height
        self.tileSize = tileSize
    }

    /// The grid `encode` uses when given no tile size: one tile up to `autoTilePixels`.
    public static func automatic(width: Int, height: Int) -> TileGrid {
        TileGrid(width: width, height: height, tileSize: width * height > autoTilePixels ? defaultTileSize : 0)
    }

    public var columns: Int { tileSize == 0 ? 1 : (width + tileSize - 1) / tileSize }
    public var rows: Int { tileSize == 0 ? 1 : (height + tileSize - 1) / tileSize }
    public var count: Int { columns * rows }

    /// Image size rounded up to `Codec.alignment`: the extent of the whole latent × 16.
    public var paddedWidth: Int { aligned(width) }
    public var paddedHeight: Int { aligned(height) }

    /// A tile: its pixels in the image, and its part of the (padded) latent grid.
    public struct Tile: Equatable, Sendable {
        public let index: Int
        /// Top-left pixel and size inside the image (edge tiles are cut to the image).
        public let x: Int, y: Int, width: Int, height: Int
        /// Size rounded up to `Codec.alignment`: what the tile's latent covers.
        public var paddedWidth: Int { aligned(width) }
        public var paddedHeight: Int { aligned(height) }
    }

    public func tile(_ index: Int) -> Tile {
        let side = tileSize == 0 ? max(width, height) : tileSize
        let x = index % columns * side, y = index / columns * side
        return Tile(index: index, x: x, y: y, width: min(side, width - x), height: min(side, height - y))
    }

    public var tiles: [Tile] { (0..<count).map(tile) }

    /// The tiles whose padded extent shares pixels with `region` (at most 3 × 3, the halo being
    /// no larger than a tile).
    func tiles(overlapping r: Region) -> [Tile] {
        guard tileSize > 0 else { return [tile(0)] }
        let c0 = r.x / tileSize, c1 = min(columns - 1, (r.x + r.width - 1) / tileSize)
        let r0 = r.y / tileSize, r1 = min(rows - 1, (r.y + r.height - 1) / tileSize)
        guard c0 <= c1, r0 <= r1 else { return [] }
        return (r0...r1).flatMap { row in (c0...c1).map { column in tile(row * columns + column) } }
    }

    /// A rectangle in pixels of the padded image, all edges multiples of `Codec.alignment`.
    struct Region: Equatable {
        var x: Int, y: Int, width: Int, height: Int
    }

    /// The tile grown by `halo` on every side, clipped to the padded image: what g_a reads and,
    /// divided by 16, the latent g_s reads.
    func region(around tile: Tile) -> Region {
        let x0 = max(0, tile.x - Self.halo), y0 = max(0, tile.y - Self.halo)
        let x1 = min(paddedWidth, tile.x + tile.paddedWidth + Self.halo)
        let y1 = min(paddedHeight, tile.y + tile.paddedHeight + Self.halo)
        return Region(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }
}

func aligned(_ n: Int) -> Int { (n + Codec.alignment - 1) / Codec.alignment * Codec.alignment }

extension Codec {
    /// The pixels of `region` as a 3-channel tensor in [0, 1]; coordinates past the image's right
    /// and bottom edges repeat the last column and row (as `paddedTensor` does for the whole image).
    static func tensor(_ image: Image, region r: TileGrid.Region) -> Tensor {
        var data = [Float](repeating: 0, count: 3 * r.width * r.height)
        let plane = r.width * r.height, channels = image.channels
        image.pixels.withUnsafeBufferPointer { pixels in
            data.withUnsafeMutableBufferPointer { out in
                for y in 0..<r.height {
                    let row = min(r.y + y, image.height - 1) * image.width
                    for x in 0..<r.width {
                        let source = (row + min(r.x + x, image.width - 1)) * channels
                        for c in 0..<3 {
                            out[c * plane + y * r.width + x] = Float(pixels[source + (channels == 1 ? 0 : c)]) / 255
                        }
                    }
                }
            }
        }
        return Tensor(channels: 3, height: r.height, width: r.width, data: data)
    }

    /// Rows `y ..< y + height`, columns `x ..< x + width` of every channel of `t`.
    static func crop(_ t: Tensor, x: Int, y: Int, width: Int, height: Int) -> Tensor {
        if x == 0 && y == 0 && width == t.width && height == t.height { return t }
        var data = [Float](repeating: 0, count: t.channels * width * height)
        t.data.withUnsafeBufferPointer { source in
            data.withUnsafeMutableBufferPointer { out in
                for c in 0..<t.channels {
                    for row in 0..<height {
                        let from = (c * t.height + y + row) * t.width + x, to = (c * height + row) * width
                        for i in 0..<width { out[to + i] = source[from + i] }
                    }
                }
            }
        }
        return Tensor(channels: t.channels, height: height, width: width, data: data)
    }
}
