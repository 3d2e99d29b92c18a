import Foundation

/// A line chart as a standalone SVG document: axes with ticks and labels, one `<path
/// class="curve">` per series (markers are circles), a legend and a title.
public struct SVGPlot: Sendable {
    public struct Series: Sendable {
        public let label: String
        public let points: [(x: Double, y: Double)]
        /// A CSS colour.
        public let colour: String
        /// Dashed and thinner, for reference curves.
        public let dashed: Bool
        /// Drawn thicker than the others.
        public let emphasised: Bool

        public init(label: String, points: [(x: Double, y: Double)], colour: String, dashed: Bool = false,
                    emphasised: Bool = false) {
            self.label = label
            self.points = points.sorted { $0.x < $1.x }
            self.colour = colour
            self.dashed = dashed
            self.emphasised = emphasised
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var width = 860.0
    public var height = 600.0
    /// The x range drawn; nil: from 0 to the largest x.
    public var xRange: ClosedRange<Double>?

    public init(title: String, xLabel: String, yLabel: String, xRange: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xRange = xRange
    }

    private let margin = (left: 72.0, right: 24.0, top: 52.0, bottom: 60.0)

    public func render(_ series: [Series]) -> String {
        let allX = series.flatMap { $0.points.map(\.x) }
        let xTicks = Self.ticks(xRange ?? 0...max(allX.max() ?? 1, 1e-9))
        let xLow = xTicks.first!, xHigh = xTicks.last!
        // The y range covers what is drawn: the points inside the x range, and where lines leave it.
        let visibleY = series.flatMap { s in
            s.points.filter { (xLow...xHigh).contains($0.x) }.map(\.y)
                + zip(s.points, s.points.dropFirst()).compactMap { a, b -> Double? in
                    guard a.x < xHigh, b.x > xHigh else { return nil }
                    return a.y + (xHigh - a.x) / (b.x - a.x) * (b.y - a.y)
                }
        }
        let yTicks = Self.ticks((visibleY.min() ?? 0)...(visibleY.max() ?? 1), steps: 6)
        let yLow = yTicks.first!, yHigh = yTicks.last!

        let left = margin.left, right = width - margin.right, top = margin.top, bottom = height - margin.bottom
        let px = { (x: Double) in left + (x - xLow) / (xHigh - xLow) * (right - left) }
        let py = { (y: Double) in bottom - (y - yLow) / (yHigh - yLow) * (bottom - top) }

        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" \
            viewBox="0 0 \(n(width)) \(n(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">
            <rect width="100%" height="100%" fill="white"/>
            <defs><clipPath id="plot-area"><rect x="\(n(left))" y="\(n(top))" width="\(n(right - left))" \
            height="\(n(bottom - top))"/></clipPath></defs>
            <text x="\(n(width / 2))" y="30" text-anchor="middle" font-size="17" font-weight="bold">\(xmlEscaped(title))</text>

            """
        svg += "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n"
        for t in xTicks { svg += "<line x1=\"\(n(px(t)))\" y1=\"\(n(top))\" x2=\"\(n(px(t)))\" y2=\"\(n(bottom))\"/>\n" }
        for t in yTicks { svg += "<line x1=\"\(n(left))\" y1=\"\(n(py(t)))\" x2=\"\(n(right))\" y2=\"\(n(py(t)))\"/>\n" }
        svg += "</g>\n<g class=\"axes\" stroke=\"#333\" stroke-width=\"1.2\">\n"
        svg += "<line x1=\"\(n(left))\" y1=\"\(n(bottom))\" x2=\"\(n(right))\" y2=\"\(n(bottom))\"/>\n"
        svg += "<line x1=\"\(n(left))\" y1=\"\(n(top))\" x2=\"\(n(left))\" y2=\"\(n(bottom))\"/>\n"
        for t in xTicks { svg += "<line x1=\"\(n(px(t)))\" y1=\"\(n(bottom))\" x2=\"\(n(px(t)))\" y2=\"\(n(bottom + 5))\"/>\n" }
        for t in yTicks { svg += "<line x1=\"\(n(left - 5))\" y1=\"\(n(py(t)))\" x2=\"\(n(left))\" y2=\"\(n(py(t)))\"/>\n" }
        svg += "</g>\n<g class=\"tick-labels\" fill=\"#333\">\n"
        for t in xTicks {
            svg += "<text x=\"\(n(px(t)))\" y=\"\(n(bottom + 20))\" text-anchor=\"middle\">\(Self.label(t, xTicks))</text>\n"
        }
        for t in yTicks {
            svg += "<text x=\"\(n(left - 9))\" y=\"\(n(py(t) + 4.5))\" text-anchor=\"end\">\(Self.label(t, yTicks))</text>\n"
        }
        svg += "</g>\n"
        svg += "<text x=\"\(n((left + right) / 2))\" y=\"\(n(height - 16))\" text-anchor=\"middle\" font-size=\"14\">\(xmlEscaped(xLabel))</text>\n"
        svg += "<text transform=\"translate(20 \(n((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"14\">\(xmlEscaped(yLabel))</text>\n"

        // Reference curves go underneath, the emphasised one on top; the legend keeps the given order.
        let layered = series.filter(\.dashed) + series.filter { !$0.dashed && !$0.emphasised } + series.filter { !$0.dashed && $0.emphasised }
        svg += "<g class=\"curves\" clip-path=\"url(#plot-area)\" fill=\"none\">\n"
        for s in layered where !s.points.isEmpty {
            let d = s.points.enumerated().map { i, p in "\(i == 0 ? "M" : "L")\(n(px(p.x))) \(n(py(p.y)))" }.joined(separator: " ")
            let stroke = s.emphasised ? 3.0 : (s.dashed ? 1.5 : 2.0)
            svg += "<path class=\"curve\" data-label=\"\(xmlEscaped(s.label))\" d=\"\(d)\" stroke=\"\(s.colour)\" "
                + "stroke-width=\"\(n(stroke))\" stroke-linejoin=\"round\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            for p in s.points {
                svg += "<circle cx=\"\(n(px(p.x)))\" cy=\"\(n(py(p.y)))\" r=\"\(s.dashed ? "2.5" : "3.5")\" "
                    + (s.dashed ? "fill=\"white\" stroke=\"\(s.colour)\"" : "fill=\"\(s.colour)\" stroke=\"none\"") + "/>\n"
            }
        }
        svg += "</g>\n"

        // The legend sits in the bottom-right corner, under the curves' usual path.
        let rowHeight = 20.0, legendWidth = 30 + 7.5 * Double(series.map(\.label.count).max() ?? 4) + 16
        let legendHeight = rowHeight * Double(series.count) + 12
        let lx = right - legendWidth - 12, ly = bottom - legendHeight - 12
        svg += "<g class=\"legend\">\n<rect x=\"\(n(lx))\" y=\"\(n(ly))\" width=\"\(n(legendWidth))\" height=\"\(n(legendHeight))\" "
            + "fill=\"white\" fill-opacity=\"0.9\" stroke=\"#bbb\"/>\n"
        for (i, s) in series.enumerated() {
            let y = ly + 6 + rowHeight * (Double(i) + 0.5)
            svg += "<line x1=\"\(n(lx + 8))\" y1=\"\(n(y))\" x2=\"\(n(lx + 32))\" y2=\"\(n(y))\" stroke=\"\(s.colour)\" "
                + "stroke-width=\"\(s.emphasised ? "3" : "2")\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            svg += "<text x=\"\(n(lx + 40))\" y=\"\(n(y + 4.5))\">\(xmlEscaped(s.label))</text>\n"
        }
        svg += "</g>\n</svg>\n"
        return svg
    }

    /// Evenly spaced round values (steps of 1, 2, 2.5 or 5 × 10ⁿ) covering `range` in at most
    /// `steps` steps (and more than `steps` / 2.5).
    static func ticks(_ range: ClosedRange<Double>, steps: Int = 8) -> [Double] {
        var low = range.lowerBound, high = range.upperBound
        if high - low < 1e-9 {
            low -= 0.5
            high += 0.5
        }
        let raw = (high - low) / Double(steps)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = (low / step).rounded(.down) * step
        let last = (high / step).rounded(.up) * step
        let count = Int(((last - first) / step).rounded())
        return (0...count).map { first + Double($0) * step }
    }

    /// A tick value with as many decimals as the step needs.
    static func label(_ value: Double, _ ticks: [Double]) -> String {
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        var decimals = 0
        while decimals < 4, abs(step * pow(10, Double(decimals)) - (step * pow(10, Double(decimals))).rounded()) > 1e-6 {
            decimals += 1
        }
        return String(format: "%.\(decimals)f", value)
    }

    private func n(_ value: Double) -> String { String(format: "%.1f", value) }
}

func xmlEscaped(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
