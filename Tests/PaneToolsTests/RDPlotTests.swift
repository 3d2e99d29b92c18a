import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import PaneTools

/// Collects the elements of an SVG document.
final class SVGElements: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []
    var text = ""

    static func parse(_ svg: String) throws -> SVGElements {
        let collector = SVGElements()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = collector
        guard parser.parse() else {
            throw parser.parserError ?? NSError(domain: "SVG", code: 1)
        }
        return collector
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append((name, attributes))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) { text += "\n" }

    func named(_ name: String) -> [[String: String]] { elements.filter { $0.name == name }.map(\.attributes) }
}

@Suite struct RDPlotTests {
    @Test func ticksAreRoundAndCoverTheRange() {
        #expect(SVGPlot.ticks(0...2) == [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2])
        #expect(SVGPlot.ticks(0...1.5).count == 9)
        #expect(SVGPlot.ticks(23.2...41.7, steps: 6) == [20, 25, 30, 35, 40, 45])
        #expect(SVGPlot.label(0.25, [0, 0.25]) == "0.25")
        #expect(SVGPlot.label(30, [25, 30]) == "30")
        #expect(SVGPlot.ticks(5...5).count >= 2)
    }

    /// A report's plots parse as XML and hold one curve path per codec, a legend entry each, and labelled axes.
    @Test func plotsAreWellFormedWithOnePathPerCodec() throws {
        let anchors = try Anchors.load(RDFixture.path("anchors/kodak_classical_curves.csv"), images: []).curves
        let measured = [RDFixture.curve("pane", [(0.2, 27), (0.5, 31), (1.1, 35)]),
                        RDFixture.curve("jpeg", [(0.3, 26), (0.6, 30), (1.2, 33), (2.5, 38)])]
        let report = RDReport(results: RDResults(images: [], measurements: [], failures: []), codecs: [],
                              anchors: measured + anchors, setName: "kodak <test> & co")
        for metric in RDMetric.allCases {
            let svg = try SVGElements.parse(report.plot(metric))
            let curves = svg.named("path").filter { $0["class"] == "curve" }
            // Anchors are drawn first, underneath the measured curves, and Pane's last, on top.
            #expect(curves.map { $0["data-label"] } == anchors.map(\.label) + ["jpeg", "pane"])
            #expect(svg.named("path").count == report.curves.count)
            #expect(curves.filter { $0["stroke-dasharray"] != nil }.count == anchors.count)
            #expect(svg.text.contains("bits per pixel"))
            #expect(svg.text.contains(metric == .psnr ? "PSNR-RGB (dB)" : "MS-SSIM (dB)"))
            #expect(svg.text.contains("on kodak <test> & co"))
            for label in report.curves.map(\.label) { #expect(svg.text.contains(label)) }
            // x ticks run 0…2 bpp (the measured curves reach past 2, the BD range's end).
            #expect(svg.text.contains("2.00") && svg.text.contains("0.25"))
            #expect(svg.named("svg").first?["viewBox"] != nil)
        }
    }

    /// An empty plot (no image large enough for MS-SSIM) is still a valid document.
    @Test func emptyPlotIsValid() throws {
        let curve = RDCurve(codec: "jpeg", parameter: "quality",
                            points: [RDPoint(setting: 50, images: 1, bpp: 1, psnr: 30, msssim: nil)])
        let report = RDReport(results: RDResults(images: [], measurements: [], failures: []), codecs: [], anchors: [curve])
        let svg = try SVGElements.parse(report.plot(.msssim))
        #expect(svg.named("path").isEmpty)
        #expect(svg.text.contains("no image large enough"))
    }
}
