import Dispatch
import Foundation
import PaneBitstream
import PaneEntropy
import PaneImageIO
import PaneKernels
import PaneModel

/// Size limits, checked before any allocation.
public enum CodecLimits {
    /// Pixels coded as one tile: the network holds about 100 bytes per pixel at its widest layer.
    public static let maxTilePixels = 40_000_000
    /// Pixels of a tiled image: only the image buffers (a few bytes per pixel) grow with it.
    public static let maxPixels = 1 << 28
    /// Width and height, as the format allows (Format.swift).
    public static let maxDimension = 1 << 20
    /// Largest tile side the header can hold (a multiple of 64 that fits 16 bits).
    public static let maxTileSize = 65_472
}

/// Errors of encoding and decoding that are not file-format errors.
public enum CodecError: Error, CustomStringConvertible, Equatable {
    case imageTooLarge(width: Int, height: Int, maxPixels: Int)
    case tileTooLarge(width: Int, height: Int, maxPixels: Int)
    case invalidTileSize(Int)

    public var description: String {
        switch self {
        case let .imageTooLarge(w, h, limit):
            return "\(w)×\(h) is over the limit of \(limit) pixels and \(CodecLimits.maxDimension) per side"
        case let .tileTooLarge(w, h, limit):
            return "\(w)×\(h) is more than the \(limit / 1_000_000) megapixels pane codes as one tile; "
                + "such images are coded in tiles (pane encode --tile-size \(TileGrid.defaultTileSize), the default above 1 MP)"
        case let .invalidTileSize(size):
            return "tile size \(size) is not 0 or a multiple of \(Codec.alignment) up to \(CodecLimits.maxTileSize)"
        }
    }
}

/// The entropy-coded integers of one tile: ẑ and the fixed-point ŷ (units of 2^−meanBits).
public struct TileLatents: Equatable, Sendable {
    public let zHat: IntegerEntropyModel.IntTensor
    public let yHat: IntegerEntropyModel.IntTensor
}

extension Codec {
    /// The 8-byte model id written into every stream: the release's declared id, else the first
    /// bytes of the weights' sha256.
    public var modelID: [UInt8] {
        if let declaredID { return declaredID }
        let hex = Array(network.manifest.sha256.utf8)
        return (0..<8).map { i in UInt8(hexValue(hex[2 * i]) << 4 | hexValue(hex[2 * i + 1])) }
    }

    private func tables() throws -> (y: CDFTables, z: CDFTables) {
        (try CDFTables(cdfs: network.yCDF.rows, offsets: network.yCDF.offsets),
         try CDFTables(cdfs: network.zCDF.rows, offsets: network.zCDF.offsets))
    }

    /// The tile grid for an image, after the limits: `tileSize` nil picks `TileGrid.automatic`.
    public static func tileGrid(width: Int, height: Int, tileSize: Int?) throws -> TileGrid {
        if let t = tileSize, t < 0 || t % alignment != 0 || t > CodecLimits.maxTileSize {
            throw CodecError.invalidTileSize(t)
        }
        guard width <= CodecLimits.maxDimension, height <= CodecLimits.maxDimension,
              width * height <= CodecLimits.maxPixels else {
            throw CodecError.imageTooLarge(width: width, height: height, maxPixels: CodecLimits.maxPixels)
        }
        let grid = tileSize.map { TileGrid(width: width, height: height, tileSize: $0) }
            ?? .automatic(width: width, height: height)
        // One tile's network is what memory holds: its pixels are limited whatever the tile size says.
        let side = grid.tileSize == 0 ? max(width, height) : grid.tileSize
        if min(side, width) * min(side, height) > CodecLimits.maxTilePixels {
            throw CodecError.tileTooLarge(width: min(side, width), height: min(side, height),
                                          maxPixels: CodecLimits.maxTilePixels)
        }
        return grid
    }

    /// What `encode` produced; `reconstruction()` gives the decoder's image without re-decoding.
    public struct Encoded: Sendable {
        public let bytes: [UInt8]
        public let header: PaneHeader
        /// Per tile; a lossless tile's latents are zero (what its neighbours' synthesis reads).
        public let tiles: [TileLatents]
        let alpha: [UInt8]?
        /// The colour samples of the tiles coded losslessly, by tile index.
        var lossless: [Int: [UInt8]] = [:]
        /// What the stream's metadata sections hold.
        public var metadata = ImageMetadata()

        /// ẑ of a one-tile stream.
        public var zHat: IntegerEntropyModel.IntTensor { onlyTile(tiles).zHat }
        /// ŷ of a one-tile stream.
        public var yHat: IntegerEntropyModel.IntTensor { onlyTile(tiles).yHat }
    }

    /// The image a decoder will produce from `encoded` (runs g_s).
    public func reconstruction(of encoded: Encoded) -> Image {
        var image = synthesize(encoded.tiles, header: encoded.header, alpha: encoded.alpha, lossless: encoded.lossless)
        image.metadata = encoded.metadata
        return image
    }

    /// Encodes `image` exactly: every tile (as `tileGrid` cuts it) a lossless section of its
    /// samples, alpha included (so no alpha section). No network runs.
    public func encodeLossless(_ image: Image, tileSize: Int? = nil) throws -> Encoded {
        let grid = try Self.tileGrid(width: image.width, height: image.height, tileSize: tileSize)
        let colours = image.channels, channels = colours + (image.alpha == nil ? 0 : 1)
        let payloads = try concurrentMap(grid.count) { t -> [UInt8] in
            let tile = grid.tile(t)
            let samples = Self.tileSamples(image, tile: tile)
            return LosslessCodec.compress(samples, width: tile.width, height: tile.height, channels: channels)
        }
        let sections = Self.metadataSections(image.metadata)
            + (0..<grid.count).map { Section(kind: .lossless, tile: $0, payload: payloads[$0]) }
        let header = PaneHeader(modelID: modelID, width: image.width, height: image.height,
                                colorLayout: image.isGrayscale ? .gray : .rgb, hasAlpha: image.alpha != nil,
                                quality: 100, tileSize: grid.tileSize, sliceCount: network.manifest.slices.count)
        let bytes = PaneFile(header: header, sections: sections).serialized()
        var colour: [Int: [UInt8]] = [:]
        for t in 0..<grid.count { colour[t] = Self.tileSamples(image, tile: grid.tile(t), alpha: false) }
        return Encoded(bytes: bytes, header: header, tiles: (0..<grid.count).map { zeroLatents(grid.tile($0)) },
                       alpha: image.alpha, lossless: colour, metadata: image.metadata)
    }

    /// A tile's samples, row-major, interleaved: colour, then alpha when the image has it and `alpha`.
    static func tileSamples(_ image: Image, tile: TileGrid.Tile, alpha: Bool = true) -> [UInt8] {
        let colours = image.channels
        let plane = alpha ? image.alpha : nil
        let channels = colours + (plane == nil ? 0 : 1)
        var samples = [UInt8](repeating: 0, count: tile.width * tile.height * channels)
        image.pixels.withUnsafeBufferPointer { pixels in
            for row in 0..<tile.height {
                for x in 0..<tile.width {
                    let from = (tile.y + row) * image.width + tile.x + x, to = (row * tile.width + x) * channels
                    for c in 0..<colours { samples[to + c] = pixels[from * colours + c] }
                    if let plane { samples[to + colours] = plane[from] }
                }
            }
        }
        return samples
    }

    /// The latents a lossless tile stands for: zero, in the tile's latent shape.
    private func zeroLatents(_ tile: TileGrid.Tile) -> TileLatents {
        let zw = tile.paddedWidth / 64, zh = tile.paddedHeight / 64, w = tile.paddedWidth / 16, h = tile.paddedHeight / 16
        return TileLatents(zHat: .init(channels: network.manifest.config.Nz, height: zh, width: zw,
                                       data: [Int64](repeating: 0, count: network.manifest.config.Nz * zh * zw)),
                           yHat: .init(channels: network.latentChannels, height: h, width: w,
                                       data: [Int64](repeating: 0, count: network.latentChannels * h * w)))
    }

    /// g_a of an image, tile by tile, before the gain: the expensive half of encoding, shared
    /// across qualities.
    public struct Analysis: Sendable {
        let width: Int, height: Int
        let grayscale: Bool
        let alpha: [UInt8]?
        let grid: TileGrid
        /// Per tile: `M × paddedHeight/16 × paddedWidth/16`.
        let latents: [Tensor]
        /// Written into the stream's metadata sections.
        var metadata = ImageMetadata()
        /// The tiles the network may not serve (`Fallback.isCandidate`): their samples, alpha
        /// included and without, for the lossless fallback of `encode(_:quality:)`.
        var fallbackCandidates: [Int: Fallback.Samples] = [:]
    }

    /// Called after each tile of a transform with (tiles done, tiles).
    public typealias Progress = (_ done: Int, _ total: Int) -> Void

    /// Runs g_a over `image` in the tiles of `tileSize` (nil: `TileGrid.automatic`), each with
    /// `TileGrid.halo` pixels of context; peak memory is one tile's network plus the image.
    public func analyze(_ image: Image, tileSize: Int? = nil, progress: Progress? = nil) throws -> Analysis {
        let grid = try Self.tileGrid(width: image.width, height: image.height, tileSize: tileSize)
        let latents = grid.tiles.map { tile in
            let region = grid.region(around: tile)
            let y = network.g_a(Self.tensor(image, region: region))
            progress?(tile.index + 1, grid.count)
            return Self.crop(y, x: (tile.x - region.x) / 16, y: (tile.y - region.y) / 16,
                             width: tile.paddedWidth / 16, height: tile.paddedHeight / 16)
        }
        var candidates: [Int: Fallback.Samples] = [:]
        for tile in grid.tiles where Fallback.isCandidate(image, tile: tile) {
            candidates[tile.index] = Fallback.Samples(withAlpha: Self.tileSamples(image, tile: tile),
                                                      colour: Self.tileSamples(image, tile: tile, alpha: false))
        }
        return Analysis(width: image.width, height: image.height, grayscale: image.isGrayscale,
                        alpha: image.alpha, grid: grid, latents: latents, metadata: image.metadata,
                        fallbackCandidates: candidates)
    }

    /// Encodes `image` at `quality` ∈ [0, 100] into a `.pane` stream (tiles as in `analyze`).
    public func encode(_ image: Image, quality: Double, tileSize: Int? = nil, progress: Progress? = nil) throws -> Encoded {
        guard quality >= 0, quality <= 100 else { throw PaneError.invalidQuality(quality) }
        return try encode(try analyze(image, tileSize: tileSize, progress: progress), quality: quality)
    }

    /// Quality is stored in hundredths; the encoder uses that stored value so decoders agree.
    /// The tiles' entropy coding runs in parallel.
    public func encode(_ analysis: Analysis, quality requested: Double) throws -> Encoded {
        guard requested >= 0, requested <= 100 else { throw PaneError.invalidQuality(requested) }
        let quality = (requested * 100).rounded() / 100
        let tables = try tables()
        let (gain, _) = network.gains(quality: quality)
        let coded = try concurrentMap(analysis.latents.count) { t in
            try encodeTile(analysis.latents[t], index: t, gain: gain, tables: tables)
        }
        var tileSections = coded.map(\.sections)
        var tiles = coded.map(\.latents)
        var lossless: [Int: [UInt8]] = [:]
        if !analysis.fallbackCandidates.isEmpty {
            let lossy = synthesize(tiles, header: header(analysis, quality: quality), alpha: analysis.alpha)
            let channels = (analysis.grayscale ? 1 : 3) + (analysis.alpha == nil ? 0 : 1)
            for (t, samples) in analysis.fallbackCandidates.sorted(by: { $0.key < $1.key }) {
                let tile = analysis.grid.tile(t)
                let payload = LosslessCodec.compress(samples.withAlpha, width: tile.width, height: tile.height, channels: channels)
                let latentBytes = tileSections[t].reduce(0) { $0 + $1.payload.count + 14 }
                let psnr = Fallback.psnr(samples.colour, Self.tileSamples(lossy, tile: tile, alpha: false))
                guard payload.count + 14 <= latentBytes || psnr < Fallback.fidelityFloor(quality: quality) else { continue }
                tileSections[t] = [Section(kind: .lossless, tile: t, payload: payload)]
                tiles[t] = zeroLatents(tile)
                lossless[t] = samples.colour
            }
        }
        var sections = Self.metadataSections(analysis.metadata) + tileSections.flatMap { $0 }
        // The alpha section is needed only while some tile has latents (lossless tiles hold their alpha).
        if let alpha = analysis.alpha, lossless.count < tiles.count {
            sections.append(Section(kind: .alpha, payload: AlphaCodec.compress(alpha)))
        }
        let header = header(analysis, quality: quality)
        let bytes = PaneFile(header: header, sections: sections).serialized()
        return Encoded(bytes: bytes, header: header, tiles: tiles, alpha: analysis.alpha, lossless: lossless,
                       metadata: analysis.metadata)
    }

    private func header(_ analysis: Analysis, quality: Double) -> PaneHeader {
        PaneHeader(modelID: modelID, width: analysis.width, height: analysis.height,
                   colorLayout: analysis.grayscale ? .gray : .rgb, hasAlpha: analysis.alpha != nil,
                   quality: quality, tileSize: analysis.grid.tileSize, sliceCount: network.manifest.slices.count)
    }

    /// The metadata sections of `metadata`, in the format's order (ICC, EXIF, XMP).
    static func metadataSections(_ metadata: ImageMetadata) -> [Section] {
        [(Section.MetadataKind.icc, metadata.icc), (.exif, metadata.exif), (.xmp, metadata.xmp)].compactMap { kind, blob in
            blob.map { Section(kind: .metadata, slice: kind.rawValue, payload: MetadataCodec.compress($0)) }
        }
    }

    /// The metadata a stream's sections carry.
    static func metadata(of sections: [Section]) throws -> ImageMetadata {
        var metadata = ImageMetadata()
        for s in sections where s.kind == .metadata {
            let blob = try MetadataCodec.decompress(s.payload)
            switch Section.MetadataKind(rawValue: s.slice) {
            case .icc: metadata.icc = blob
            case .exif: metadata.exif = blob
            case .xmp: metadata.xmp = blob
            case nil: break  // PaneFile refused other kinds
            }
        }
        return metadata
    }

    /// Everything of `encode` after g_a for a one-tile stream: `y` is g_a's output (before the
    /// gain) for a `width × height` image, `M × ⌈height/64⌉·4 × ⌈width/64⌉·4`. The conformance
    /// tests feed it fixed latents (Training/codec.py `Codec.encode_latent` is its twin).
    func encodeLatent(_ y: Tensor, quality: Double, width: Int, height: Int,
                      grayscale: Bool = false, alpha: [UInt8]? = nil) throws -> Encoded {
        let grid = TileGrid(width: width, height: height, tileSize: 0)
        precondition(y.channels == network.latentChannels && y.height == grid.paddedHeight / 16
                     && y.width == grid.paddedWidth / 16,
                     "latent of \(y.channels)×\(y.height)×\(y.width) for a \(width)×\(height) image")
        let analysis = Analysis(width: width, height: height, grayscale: grayscale, alpha: alpha, grid: grid, latents: [y])
        return try encode(analysis, quality: quality)
    }

    /// One tile's z and y sections from its latent `y` (before the gain).
    private func encodeTile(_ y: Tensor, index tile: Int, gain: [Float],
                            tables: (y: CDFTables, z: CDFTables)) throws -> (sections: [Section], latents: TileLatents) {
        let y = PaneNetwork.scaleChannels(y, gain)
        let z = network.h_a(y)
        let zHat = IntegerEntropyModel.IntTensor(channels: z.channels, height: z.height, width: z.width,
                                                 data: z.data.map { Int64(symbol(Double($0))) })
        let zIndexes = Self.channelIndexes(channels: z.channels, plane: z.height * z.width)
        var sections = [Section(kind: .z, tile: tile,
                                payload: try RANS.encode(symbols: zHat.data.map { Int32(clamping: $0) },
                                                         indexes: zIndexes, tables: tables.z))]
        let model = network.entropyModel
        let hyper = model.hyper(zHat)
        let size = network.manifest.slices.size, plane = hyper.height * hyper.width
        let unit = pow(2, -Double(model.meanBits))
        let yHat = try model.runSlices(hyper: hyper, sliceSize: size) { i, mu, index in
            let q = (0..<mu.count).map { j in
                symbol(Double(y.data[i * size * plane + j]) - Double(mu[j]) * unit)
            }
            sections.append(Section(kind: .y, tile: tile, slice: i,
                                    payload: try RANS.encode(symbols: q, indexes: index, tables: tables.y)))
            return q
        }
        return (sections, TileLatents(zHat: zHat, yHat: yHat))
    }

    /// The exact part of decoding: what `decode` gives g_s (Training/codec.py `decode_latents`).
    public struct Latents: Sendable {
        public let header: PaneHeader
        /// Per tile; a lossless tile's latents are zero (what its neighbours' synthesis reads).
        public let tiles: [TileLatents]
        public let alpha: [UInt8]?
        /// The colour samples of the tiles coded losslessly, by tile index.
        public var lossless: [Int: [UInt8]] = [:]
        /// What the metadata sections hold.
        public var metadata = ImageMetadata()

        /// ẑ of a one-tile stream.
        public var zHat: IntegerEntropyModel.IntTensor { onlyTile(tiles).zHat }
        /// ŷ of a one-tile stream (fixed point, units of 2^−meanBits).
        public var yHat: IntegerEntropyModel.IntTensor { onlyTile(tiles).yHat }
    }

    /// Decodes a `.pane` stream written for this model.
    public func decode(_ bytes: [UInt8], progress: Progress? = nil) throws -> Image {
        synthesize(try decodeLatents(bytes), progress: progress)
    }

    /// The image of decoded latents (runs g_s): the second half of `decode`.
    public func synthesize(_ latents: Latents, progress: Progress? = nil) -> Image {
        var image = synthesize(latents.tiles, header: latents.header, alpha: latents.alpha, lossless: latents.lossless,
                               progress: progress)
        image.metadata = latents.metadata
        return image
    }

    /// Parses `bytes` and runs the entropy decoder and the integer path: ẑ, ŷ per tile (tiles
    /// in parallel) and alpha, no g_s.
    public func decodeLatents(_ bytes: [UInt8]) throws -> Latents {
        let file = try PaneFile(parsing: bytes, expectedModelIDs: [modelID])
        let header = file.header
        let grid = try Self.tileGrid(width: header.width, height: header.height, tileSize: header.tileSize)
        guard header.sliceCount == network.manifest.slices.count else {
            throw BitstreamError.corrupt("stream has \(header.sliceCount) slices, the model \(network.manifest.slices.count)")
        }
        // PaneFile checked that every section is present exactly once and in order.
        var payloads: [SectionKey: [UInt8]] = [:]
        for s in file.sections { payloads[SectionKey(kind: s.kind, tile: s.tile, slice: s.slice)] = s.payload }
        let tables = try tables()
        let nz = network.manifest.config.Nz
        let model = network.entropyModel
        let colours = header.colorLayout == .gray ? 1 : 3, channels = colours + (header.hasAlpha ? 1 : 0)
        let lossless = try concurrentMap(grid.count) { t -> [UInt8]? in
            guard let payload = payloads[SectionKey(kind: .lossless, tile: t, slice: 0)] else { return nil }
            let tile = grid.tile(t)
            return try LosslessCodec.decompress(payload, width: tile.width, height: tile.height, channels: channels)
        }
        let tiles = try concurrentMap(grid.count) { t -> TileLatents in
            let section = { (kind: Section.Kind, slice: Int) in payloads[SectionKey(kind: kind, tile: t, slice: slice)] ?? [] }
            let tile = grid.tile(t)
            if lossless[t] != nil { return zeroLatents(tile) }
            let zw = tile.paddedWidth / 64, zh = tile.paddedHeight / 64
            let zSymbols = try RANS.decode(section(.z, 0), indexes: Self.channelIndexes(channels: nz, plane: zw * zh),
                                           tables: tables.z)
            let zHat = IntegerEntropyModel.IntTensor(channels: nz, height: zh, width: zw, data: zSymbols.map(Int64.init))
            let yHat = try model.runSlices(hyper: model.hyper(zHat), sliceSize: network.manifest.slices.size) { i, _, index in
                try RANS.decode(section(.y, i), indexes: index, tables: tables.y)
            }
            return TileLatents(zHat: zHat, yHat: yHat)
        }
        // The alpha plane: the alpha section's (present when some tile has latents), with the
        // lossless tiles' own alpha over their regions.
        var alpha: [UInt8]? = nil
        if header.hasAlpha {
            let section = payloads[SectionKey(kind: .alpha, tile: 0, slice: 0)]
            alpha = try section.map { try AlphaCodec.decompress($0, count: header.width * header.height) }
                ?? [UInt8](repeating: 0, count: header.width * header.height)
        }
        var losslessTiles: [Int: [UInt8]] = [:]
        for (t, samples) in lossless.enumerated() {
            guard let samples else { continue }
            guard header.hasAlpha else { losslessTiles[t] = samples; continue }
            let tile = grid.tile(t)
            var colour = [UInt8](repeating: 0, count: tile.width * tile.height * colours)
            for p in 0..<tile.width * tile.height {
                for c in 0..<colours { colour[p * colours + c] = samples[p * channels + c] }
                alpha![(tile.y + p / tile.width) * header.width + tile.x + p % tile.width] = samples[p * channels + colours]
            }
            losslessTiles[t] = colour
        }
        return Latents(header: header, tiles: tiles, alpha: alpha, lossless: losslessTiles,
                       metadata: try Self.metadata(of: file.sections))
    }

    /// g_s tile by tile, each from its latent plus `TileGrid.halo / 16` latent rows and columns of
    /// its neighbours, cut to the tile and placed in the image.
    private func synthesize(_ tiles: [TileLatents], header: PaneHeader, alpha: [UInt8]?,
                            lossless: [Int: [UInt8]] = [:], progress: Progress? = nil) -> Image {
        let grid = TileGrid(width: header.width, height: header.height, tileSize: header.tileSize)
        precondition(tiles.count == grid.count, "\(tiles.count) tiles for a grid of \(grid.count)")
        let gray = header.colorLayout == .gray, channels = gray ? 1 : 3
        let (_, inverse) = network.gains(quality: header.quality)
        let unit = Float(pow(2, -Double(network.entropyModel.meanBits)))
        var pixels = [UInt8](repeating: 0, count: header.width * header.height * channels)
        for tile in grid.tiles {
            let samples: [UInt8]
            if let exact = lossless[tile.index] {
                samples = exact
            } else {
                let region = grid.region(around: tile)
                let latent = Self.latent(tiles, grid: grid, region: region, scale: inverse.map { $0 * unit })
                let xHat = network.g_s(latent)
                let part = Self.crop(xHat, x: tile.x - region.x, y: tile.y - region.y, width: tile.width, height: tile.height)
                samples = Image(planarRGB: part.data, width: tile.width, height: tile.height, grayscale: gray).pixels
            }
            for row in 0..<tile.height {
                let to = ((tile.y + row) * header.width + tile.x) * channels
                pixels.replaceSubrange(to..<(to + tile.width * channels),
                                       with: samples[(row * tile.width * channels)..<((row + 1) * tile.width * channels)])
            }
            progress?(tile.index + 1, grid.count)
        }
        return Image(width: header.width, height: header.height, channels: channels, pixels: pixels, alpha: alpha)
    }

    /// The latent under `region` (pixels / 16), gathered from the tiles that cover it, each
    /// channel multiplied by `scale` (the fixed-point unit times the inverse gain).
    static func latent(_ tiles: [TileLatents], grid: TileGrid, region: TileGrid.Region, scale: [Float]) -> Tensor {
        let x0 = region.x / 16, y0 = region.y / 16, w = region.width / 16, h = region.height / 16
        let channels = scale.count
        var data = [Float](repeating: 0, count: channels * w * h)
        for tile in grid.tiles(overlapping: region) {
            let tx = tile.x / 16, ty = tile.y / 16, tw = tile.paddedWidth / 16, th = tile.paddedHeight / 16
            let xLow = max(x0, tx), xHigh = min(x0 + w, tx + tw), yLow = max(y0, ty), yHigh = min(y0 + h, ty + th)
            guard xLow < xHigh, yLow < yHigh else { continue }
            let xs = xLow..<xHigh, ys = yLow..<yHigh
            let source = tiles[tile.index].yHat
            precondition(source.channels == channels && source.width == tw && source.height == th, "tile latent shape")
            for c in 0..<channels {
                for y in ys {
                    let from = (c * th + y - ty) * tw - tx, to = (c * h + y - y0) * w - x0
                    for x in xs { data[to + x] = Float(source.data[from + x]) * scale[c] }
                }
            }
        }
        return Tensor(channels: channels, height: h, width: w, data: data)
    }

    static func channelIndexes(channels: Int, plane: Int) -> [Int32] {
        (0..<channels).flatMap { c in [Int32](repeating: Int32(c), count: plane) }
    }
}

private struct SectionKey: Hashable {
    let kind: Section.Kind, tile: Int, slice: Int
}

private func onlyTile(_ tiles: [TileLatents]) -> TileLatents {
    precondition(tiles.count == 1, "the stream has \(tiles.count) tiles; use `tiles`")
    return tiles[0]
}

/// `body(i)` for i in 0..<count, on up to `Codec.threads` threads (each takes a contiguous run
/// of indexes); results in index order, the first error (by index) rethrown.
func concurrentMap<T>(_ count: Int, _ body: (Int) throws -> T) throws -> [T] {
    let parts = min(count, Codec.threads)
    if parts <= 1 { return try (0..<count).map(body) }
    var results = [Result<T, Error>?](repeating: nil, count: count)
    results.withUnsafeMutableBufferPointer { slots in
        let out = slots
        let path = CPUPath.callerOverride
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            CPUPath.run(under: path) {
                for i in (count * p / parts)..<(count * (p + 1) / parts) { out[i] = Result { try body(i) } }
            }
        }
    }
    return try results.map { try $0!.get() }
}

/// round(v) ties to even, clamped to the int32 symbol range (NaN → 0): never traps on odd floats.
private func symbol(_ v: Double) -> Int32 {
    guard v.isFinite else { return 0 }
    return Int32(min(max(v.rounded(.toNearestOrEven), Double(Int32.min)), Double(Int32.max)))
}

private func hexValue(_ c: UInt8) -> UInt8 {
    switch c {
    case 48...57: return c - 48
    case 97...102: return c - 87
    case 65...70: return c - 55
    default: return 0
    }
}
