import Foundation
import PaneImageIO
import Testing

@Suite struct ImageTests {
    @Test func planarRGBIsCHWInUnitRange() {
        let image = Image(width: 2, height: 1, channels: 3, pixels: [0, 51, 255, 102, 153, 204])
        #expect(image.planarRGB() == [0, 0.4, 0.2, 0.6, 1, 0.8])
    }

    @Test func grayIsRepeatedInThreePlanes() {
        let image = Image(width: 3, height: 1, channels: 1, pixels: [0, 128, 255])
        let planes = image.planarRGB()
        #expect(planes.count == 9)
        #expect(Array(planes[0..<3]) == Array(planes[3..<6]) && Array(planes[3..<6]) == Array(planes[6..<9]))
        #expect(planes[1] == Float(128) / 255)
    }

    @Test func planarRoundTripIsExact() {
        let pixels = (0..<60).map { (i: Int) -> UInt8 in UInt8(i * 4 + 3) }
        let image = Image(width: 5, height: 4, channels: 3, pixels: pixels, alpha: [UInt8](repeating: 9, count: 20))
        #expect(Image(planarRGB: image.planarRGB(), width: 5, height: 4, alpha: image.alpha) == image)
    }

    @Test func floatsRoundAndClamp() {
        // Planes R = (-25.5, NaN), G = (0.49, 0.5), B = (254.5, 300) in units of 1/255:
        // rounded to nearest, clamped, NaN to 0, then interleaved per pixel.
        let values: [Float] = [-0.1, .nan, 0.49 / 255, 0.5 / 255, 254.5 / 255, 300 / 255]
        let image = Image(planarRGB: values, width: 2, height: 1)
        #expect(image.pixels == [0, 0, 255, 0, 1, 255])
    }

    @Test func grayscaleFromPlanesIsTheMean() {
        let planes: [Float] = [0.2, 1.0, 0.4, 1.0, 0.6, 1.0]
        let image = Image(planarRGB: planes, width: 2, height: 1, grayscale: true)
        #expect(image.isGrayscale && image.pixels == [102, 255])
    }

    @Test func formatIsSniffedNotNamed() throws {
        #expect(ImageFormat(sniffing: try Fixtures.data("rgb8.png")) == .png)
        #expect(ImageFormat(sniffing: try Fixtures.data("progressive_rgb.jpg")) == .jpeg)
        #expect(ImageFormat(sniffing: Data("GIF89a".utf8)) == nil)
        // JPEG bytes under a .png name decode as JPEG.
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let misnamed = directory + "/photo.png"
        try Fixtures.data("progressive_gray.jpg").write(to: URL(fileURLWithPath: misnamed))
        #expect(try Image(contentsOfFile: misnamed).isGrayscale)
    }

    @Test func writeToFileReplacesAtomically() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/out.png"
        let first = Image(width: 2, height: 2, channels: 1, pixels: [1, 2, 3, 4])
        let second = Image(width: 1, height: 1, channels: 3, pixels: [9, 8, 7])
        try first.write(toFile: path, as: .png)
        try second.write(toFile: path, as: .png)
        #expect(try Image(contentsOfFile: path) == second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["out.png"])
    }

    @Test func failedWriteLeavesNoFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let withAlpha = Image(width: 1, height: 1, channels: 1, pixels: [5], alpha: [0])
        #expect(throws: ImageIOError.self) { try withAlpha.write(toFile: directory + "/out.jpg", as: .jpeg(JPEGOptions())) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)

        let missingDirectory = directory + "/missing/out.png"
        #expect(throws: ImageIOError.io(path: missingDirectory, reason: "No such file or directory")) {
            try withAlpha.write(toFile: missingDirectory, as: .png)
        }
        // Renaming over a directory fails after the data was written: the temporary file must go.
        try FileManager.default.createDirectory(atPath: directory + "/taken.png", withIntermediateDirectories: false)
        #expect(throws: ImageIOError.self) { try withAlpha.write(toFile: directory + "/taken.png", as: .png) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["taken.png"])
    }

    private func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "PaneImageIOTests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
