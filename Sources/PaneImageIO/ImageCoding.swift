import Foundation

extension Image {
    /// Decodes a PNG or JPEG, recognised by its first bytes (see `ImageFormat.init(sniffing:)`).
    ///
    /// PNG: every bit depth and colour type, interlaced or not; palettes and
    /// low bit depths expand to 8 bits, 16-bit samples round to 8 bits, tRNS
    /// becomes an alpha plane, gray stays gray. JPEG: baseline and
    /// progressive, gray or colour (RGB out); CMYK is refused.
    /// - Throws: `ImageIOError` — `.empty`, `.unsupportedFormat`, `.tooLarge` (checked on
    ///   the header, before pixel memory is allocated), `.truncated`, `.corrupt`, `.unsupported`.
    ///
    /// The file's ICC profile, EXIF and XMP land in `metadata`. With `orient` (the default) the
    /// image is turned as its EXIF orientation says, so it is what a viewer shows, and the EXIF
    /// kept says orientation 1.
    public init(decoding bytes: some ContiguousBytes, limits: ImageLimits = ImageLimits(), orient: Bool = true) throws {
        self = try bytes.withUnsafeBytes { raw in
            guard raw.count > 0 else { throw ImageIOError.empty }
            var image: Image
            switch ImageFormat.sniff(raw) {
            case .png:
                image = try PNGCodec.decode(raw, limits: limits)
                let chunks = MetadataReader.pngChunks(raw)
                image.metadata = chunks.metadata
                if chunks.animated { image.readingNotes.append("animated PNG: only its first frame is kept") }
            case .jpeg:
                image = try JPEGCodec.decode(raw, limits: limits)
                image.metadata = MetadataReader.jpeg(raw)
            case nil: throw ImageIOError.unsupportedFormat
            }
            if orient, let exif = image.metadata.exif, let orientation = EXIFOrientation.value(in: exif), orientation != 1 {
                image = image.applyingOrientation(orientation)
                image.metadata.exif = EXIFOrientation.settingTopLeft(exif)
            }
            return image
        }
    }

    /// Reads and decodes the file at `path`, as `init(decoding:limits:)` does.
    /// - Throws: `ImageIOError.io` when the file cannot be read, else as `init(decoding:limits:)`.
    public init(contentsOfFile path: String, limits: ImageLimits = ImageLimits(), orient: Bool = true) throws {
        try self.init(decoding: FileIO.contents(ofFile: path), limits: limits, orient: orient)
    }

    /// Threads a PNG encode may use (its rows are deflated in bands); the codec's thread setting
    /// (`Codec.threads`, `pane --threads`) sets it too. Default: every core.
    nonisolated(unsafe) public static var encodingThreads = ProcessInfo.processInfo.activeProcessorCount

    /// The image encoded as `encoding` says.
    /// - Throws: `ImageIOError.unsupported` for alpha in a JPEG or a JPEG over 65500 pixels per side,
    ///   `.failed` when the codec library fails (out of memory).
    ///   `metadata` goes into the file too (see `metadataNotWritten(as:)` for what cannot).
    public func encoded(as encoding: ImageEncoding) throws -> Data {
        switch encoding {
        case .png:
            let png = try PNGCodec.encode(self)
            return metadata.isEmpty ? png : Data(MetadataWriter.png([UInt8](png), metadata))
        case .jpeg(let options):
            let jpeg = try JPEGCodec.encode(self, options: options)
            return metadata.isEmpty ? jpeg : Data(MetadataWriter.jpeg([UInt8](jpeg), metadata).bytes)
        }
    }

    /// The metadata blobs `encoded(as:)` leaves out because the format cannot hold them (JPEG
    /// segments: EXIF over 64 KB, XMP over 64 KB, ICC over 16 MB), e.g. ["XMP"].
    public func metadataNotWritten(as encoding: ImageEncoding) -> [String] {
        guard case .jpeg = encoding, !metadata.isEmpty else { return [] }
        return MetadataWriter.jpeg([0xFF, 0xD8, 0xFF, 0xD9], metadata).dropped
    }

    /// Encodes the image and writes it to `path` atomically: the bytes go to a
    /// temporary file in the same directory, renamed over `path` only once
    /// complete, so a failure never leaves a partial file.
    /// - Throws: as `encoded(as:)`, or `ImageIOError.io` when the file cannot be written.
    public func write(toFile path: String, as encoding: ImageEncoding) throws {
        try FileIO.writeAtomically(encoded(as: encoding), to: path)
    }

    /// Splits interleaved gray+alpha or RGBA samples into colour samples and an alpha plane.
    /// REQUIRES: `channels` is 1...4 and `samples.count == width * height * channels`.
    init(width: Int, height: Int, interleaved samples: [UInt8], channels: Int) {
        guard channels == 2 || channels == 4 else {
            self.init(width: width, height: height, channels: channels, pixels: samples)
            return
        }
        let colours = channels - 1
        let count = width * height
        var pixels = [UInt8](repeating: 0, count: count * colours)
        var alpha = [UInt8](repeating: 0, count: count)
        samples.withUnsafeBufferPointer { source in
            for i in 0..<count {
                for c in 0..<colours { pixels[i * colours + c] = source[i * channels + c] }
                alpha[i] = source[i * channels + colours]
            }
        }
        self.init(width: width, height: height, channels: colours, pixels: pixels, alpha: alpha)
    }

    /// Colour samples and alpha interleaved again (gray+alpha or RGBA), or `pixels` when there is no alpha.
    func interleavedSamples() -> (samples: [UInt8], channels: Int) {
        guard let alpha else { return (pixels, channels) }
        let count = width * height
        let interleavedChannels = channels + 1
        var samples = [UInt8](repeating: 0, count: count * interleavedChannels)
        for i in 0..<count {
            for c in 0..<channels { samples[i * interleavedChannels + c] = pixels[i * channels + c] }
            samples[i * interleavedChannels + channels] = alpha[i]
        }
        return (samples, interleavedChannels)
    }
}

/// Calls a shim function that reports failure as a status plus a message written into a caller buffer.
func callShim<Status>(_ body: (UnsafeMutablePointer<CChar>, Int) -> Status) -> (status: Status, message: String) {
    let capacity = 256
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer in
        buffer[0] = 0
        let status = body(buffer.baseAddress!, capacity)
        return (status, String(cString: buffer.baseAddress!))
    }
}
