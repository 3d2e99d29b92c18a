import Foundation

/// Reference curves measured elsewhere (`/work/shared/anchors`), drawn and compared beside the
/// measured ones so a report can show codecs whose tools are not installed.
public enum Anchors {
    /// Codec names in the anchors' files and the names used here; others (Pillow's JPEG, which
    /// differs from libjpeg-turbo's only in its headers) are not read.
    static let codecNames = ["jpeg_turbo": "jpeg", "webp": "webp", "jxl": "jxl", "avif": "avif",
                             "bpg": "bpg", "hevc_x265": "hevc"]
    static let parameters = ["jpeg": "quality", "webp": "quality", "jxl": "distance", "avif": "quantizer",
                             "bpg": "qp", "hevc": "qp"]
    static let order = ["jpeg", "webp", "jxl", "avif", "bpg", "hevc"]

    /// Loads anchor curves from `path`: either a curves file (`kodak_classical_curves.csv`: one
    /// averaged row per codec and setting) or a directory of per-image files
    /// (`kodak_per_image/*.csv`), averaged here over `images` (matched by file name without
    /// extension) so that the anchors cover the same images as the sweep.
    /// - Returns: curves with at least two points, and notes on what was left out.
    /// - Throws: `RDError.badAnchors` when the file cannot be read or lacks a column.
    public static func load(_ path: String, images: [String]) throws -> (curves: [RDCurve], notes: [String]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw RDError.badAnchors(path: path, reason: "no such file or directory")
        }
        if isDirectory.boolValue { return try loadPerImage(directory: path, images: images) }
        let table = try CSVTable(path: path)
        var points: [String: [RDPoint]] = [:]
        for row in table.rows {
            guard let codec = codecNames[try table.text(row, "codec")] else { continue }
            points[codec, default: []].append(RDPoint(
                setting: try table.number(row, "quality_param"), images: Int(try table.number(row, "n_images")),
                bpp: try table.number(row, "avg_bpp"), psnr: try table.number(row, "avg_psnr_rgb"),
                msssim: try table.number(row, "avg_msssim_rgb"),
                medianEncodeSeconds: try? table.number(row, "median_enc_s"),
                medianDecodeSeconds: try? table.number(row, "median_dec_s")))
        }
        return curves(points, notes: [])
    }

    private static func loadPerImage(directory: String, images: [String]) throws -> (curves: [RDCurve], notes: [String]) {
        let wanted = Set(images.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent })
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory))?.filter { $0.hasSuffix(".csv") }.sorted() ?? []
        guard !files.isEmpty else { throw RDError.badAnchors(path: directory, reason: "no .csv files") }
        var points: [String: [RDPoint]] = [:]
        var notes: [String] = []
        for file in files {
            let table = try CSVTable(path: directory + "/" + file)
            var bySetting: [Double: [[String]]] = [:]
            var order: [Double] = []
            var codec: String?
            for row in table.rows {
                guard let name = codecNames[try table.text(row, "codec")] else { continue }
                codec = name
                let image = try table.text(row, "image")
                guard wanted.contains(image) else { continue }
                let setting = try table.number(row, "quality_param")
                if bySetting[setting] == nil { order.append(setting) }
                bySetting[setting, default: []].append(row)
            }
            guard let codec else { continue }
            var partial: [String] = []
            for setting in order {
                let rows = bySetting[setting]!
                guard Set(try rows.map { try table.text($0, "image") }).count == wanted.count else {
                    partial.append(settingText(setting))
                    continue
                }
                let msssims = try rows.map { try table.number($0, "msssim_rgb") }
                points[codec, default: []].append(RDPoint(
                    setting: setting, images: rows.count,
                    bpp: RDStatistics.mean(try rows.map { try table.number($0, "bpp") }),
                    psnr: RDStatistics.mean(try rows.map { try table.number($0, "psnr_rgb") }),
                    msssim: RDStatistics.mean(msssims),
                    medianEncodeSeconds: RDStatistics.median(rows.compactMap { try? table.number($0, "enc_s") }),
                    medianDecodeSeconds: RDStatistics.median(rows.compactMap { try? table.number($0, "dec_s") })))
            }
            if !partial.isEmpty {
                notes.append("anchor \(codec): settings \(partial.joined(separator: ", ")) do not cover every image, left out")
            }
        }
        return curves(points, notes: notes)
    }

    private static func curves(_ points: [String: [RDPoint]], notes: [String]) -> (curves: [RDCurve], notes: [String]) {
        let curves = order.compactMap { codec -> RDCurve? in
            guard let p = points[codec], p.count >= 2 else { return nil }
            return RDCurve(codec: codec, parameter: parameters[codec] ?? "setting", isAnchor: true, points: p)
        }
        guard !curves.isEmpty else { return ([], notes + ["the anchors hold no curve for these images"]) }
        return (curves, notes)
    }
}

/// A comma-separated file with a header row and no quoting (the anchors' files).
struct CSVTable {
    let path: String
    let columns: [String: Int]
    let rows: [[String]]

    init(path: String) throws {
        self.path = path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw RDError.badAnchors(path: path, reason: "cannot read it as UTF-8 text")
        }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        } }
        guard let header = lines.first else { throw RDError.badAnchors(path: path, reason: "empty file") }
        columns = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        rows = Array(lines.dropFirst())
    }

    func text(_ row: [String], _ column: String) throws -> String {
        guard let index = columns[column] else { throw RDError.badAnchors(path: path, reason: "no column '\(column)'") }
        guard index < row.count else { throw RDError.badAnchors(path: path, reason: "a row has no '\(column)'") }
        return row[index]
    }

    func number(_ row: [String], _ column: String) throws -> Double {
        let value = try text(row, column)
        guard let number = Double(value), number.isFinite else {
            throw RDError.badAnchors(path: path, reason: "'\(value)' in column '\(column)' is not a number")
        }
        return number
    }
}
