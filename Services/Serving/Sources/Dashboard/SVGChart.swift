import Foundation
import Learning
import Mustache

/// The geometry of an inline SVG chart, computed here and drawn by the
/// `chart` partial: lines through points, dashed horizontal bounds (gates),
/// bars, and axis labels. Only numbers and escaped labels reach the markup.
struct SVGChart: Sendable {
    struct Polyline: Sendable {
        let points: String
        let cssClass: String
    }

    struct Dot: Sendable {
        let x: String
        let y: String
        let cssClass: String
        let title: String
    }

    struct Bound: Sendable {
        let y: String
        let x2: String
        let label: String
    }

    struct Bar: Sendable {
        let x: String
        let y: String
        let width: String
        let height: String
        let title: String
    }

    struct Label: Sendable {
        let x: String
        let y: String
        let anchor: String
        let text: String
    }

    /// One line of the chart: its points are (x, y, tooltip).
    struct Series {
        let lineClass: String
        let pointClass: String
        let points: [(x: Double, y: Double, title: String)]
    }

    let title: String
    let width = 560
    let height = 220
    let polylines: [Polyline]
    let dots: [Dot]
    let bounds: [Bound]
    let bars: [Bar]
    let labels: [Label]
    /// Chart-wide: the left and bottom axes.
    let axisBottom: String
    let axisRight: String
    let plotLeft = "52"
    let plotTop = "12"

    /// `width` as the geometry uses it.
    private static let canvasWidth = 560.0
    private static let left = 52.0
    private static let right = 548.0
    private static let top = 12.0
    private static let bottom = 186.0

    private static func text(_ value: Double) -> String { String(format: "%.1f", value) }

    /// Lines over x positions 0…(xLabels.count - 1), with optional bounds.
    static func lines(
        title: String, series: [Series], xLabels: [String], bounds: [(label: String, value: Double)] = [],
        fromZero: Bool = false
    ) -> SVGChart {
        let values = series.flatMap { $0.points.map(\.y) } + bounds.map(\.value) + (fromZero ? [0] : [])
        var (low, high) = range(values)
        if fromZero { low = 0 }
        (low, high) = (low, Swift.max(high, low + 1e-9))
        let count = max(1, xLabels.count - 1)
        let xScale = { (x: Double) in left + (right - left) * (xLabels.count == 1 ? 0.5 : x / Double(count)) }
        let yScale = { (y: Double) in bottom - (bottom - top) * (y - low) / (high - low) }
        let polylines = series.filter { $0.points.count > 1 }.map { line in
            Polyline(
                points: line.points.map { "\(text(xScale($0.x))),\(text(yScale($0.y)))" }.joined(separator: " "),
                cssClass: line.lineClass)
        }
        let dots = series.flatMap { line in
            line.points.map {
                Dot(x: text(xScale($0.x)), y: text(yScale($0.y)), cssClass: line.pointClass, title: $0.title)
            }
        }
        let drawn = bounds.map {
            Bound(y: text(yScale($0.value)), x2: text(right), label: "\($0.label) \(number($0.value))")
        }
        var labels = xAxisLabels(xLabels, width: canvasWidth, x: { xScale(Double($0)) })
        labels += axisLabels(low: low, high: high, yScale: yScale)
        return SVGChart(
            title: title, polylines: polylines, dots: dots, bounds: drawn, bars: [], labels: labels,
            axisBottom: text(bottom), axisRight: text(right))
    }

    /// A density histogram of the training data's percentile bins (`Histogram`:
    /// bin 0 below the first edge, the last at or above the last): each bar spans
    /// its bin's values (from `min` to `max` at the ends) with height count ÷ width.
    static func histogram(title: String, edges: [Double], counts: [Int], min: Double?, max: Double?) -> SVGChart {
        let empty = SVGChart(
            title: title, polylines: [], dots: [], bounds: [], bars: [], labels: [], axisBottom: text(bottom),
            axisRight: text(right))
        guard !edges.isEmpty, counts.count == edges.count + 1 else { return empty }
        let boundaries = [Swift.min(min ?? edges[0], edges[0])] + edges + [Swift.max(max ?? edges.last!, edges.last!)]
        let bins = counts.indices.compactMap { index -> (low: Double, high: Double, count: Int)? in
            let (low, high) = (boundaries[index], boundaries[index + 1])
            return high > low && counts[index] > 0 ? (low, high, counts[index]) : nil
        }
        guard let first = bins.first, let last = bins.last else { return empty }
        let densest = bins.map { Double($0.count) / ($0.high - $0.low) }.max() ?? 1
        let xScale = { (x: Double) in left + (right - left) * (x - first.low) / Swift.max(1e-12, last.high - first.low)
        }
        let bars = bins.map { bin in
            let height = (bottom - top) * (Double(bin.count) / (bin.high - bin.low)) / densest
            return Bar(
                x: text(xScale(bin.low)), y: text(bottom - height),
                width: text(Swift.max(0.5, xScale(bin.high) - xScale(bin.low))), height: text(height),
                title: "\(number(bin.low))…\(number(bin.high)): \(bin.count)")
        }
        let labels = [
            Label(x: text(left), y: text(bottom + 16), anchor: "start", text: number(first.low)),
            Label(x: text(right), y: text(bottom + 16), anchor: "end", text: number(last.high)),
        ]
        return SVGChart(
            title: title, polylines: [], dots: [], bounds: [], bars: bars, labels: labels, axisBottom: text(bottom),
            axisRight: text(right))
    }

    /// Estimated width of a label in the stylesheet's 11px font (a little wider than most glyphs).
    static func labelWidth(_ text: String) -> Double { Double(text.count) * 6.6 }

    /// Whole x labels that neither overlap nor leave the chart: at most 8, the
    /// last (newest) always among them, each kept only where it fits beside
    /// the one after it, and moved inward at the edges rather than cut.
    static func xAxisLabels(_ texts: [String], width: Double, x: (Int) -> Double) -> [Label] {
        let stride = max(1, Int((Double(texts.count) / 8).rounded(.up)))
        var kept: [Label] = []
        var freeUpTo = Double.infinity
        for index in Swift.stride(from: texts.count - 1, through: 0, by: -stride) {
            let half = labelWidth(texts[index]) / 2
            let center = Swift.min(Swift.max(x(index), half + 2), width - half - 2)
            guard center + half + 6 <= freeUpTo else { continue }
            kept.insert(Label(x: text(center), y: text(bottom + 16), anchor: "middle", text: texts[index]), at: 0)
            freeUpTo = center - half
        }
        return kept
    }

    private static func axisLabels(low: Double, high: Double, yScale: (Double) -> Double) -> [Label] {
        (0...4).map { step in
            let value = low + (high - low) * Double(step) / 4
            return Label(x: text(left - 6), y: text(yScale(value) + 4), anchor: "end", text: number(value))
        }
    }

    /// The value range with a margin; a flat series gets a visible band.
    private static func range(_ values: [Double]) -> (Double, Double) {
        let finite = values.filter(\.isFinite)
        guard var low = finite.min(), var high = finite.max() else { return (0, 1) }
        if high - low < 1e-9 {
            low -= max(1, abs(low) * 0.1)
            high += max(1, abs(high) * 0.1)
        }
        let margin = (high - low) * 0.08
        return (low - margin, high + margin)
    }

    static func number(_ value: Double) -> String { DashboardFormat.number(value) }

    /// The `chart` partial.
    static let template = """
        <svg class="chart" viewBox="0 0 {{width}} {{height}}" width="{{width}}" height="{{height}}" role="img" aria-label="{{title}}">
        <title>{{title}}</title>
        <line class="axis" x1="{{plotLeft}}" y1="{{plotTop}}" x2="{{plotLeft}}" y2="{{axisBottom}}"/>
        <line class="axis" x1="{{plotLeft}}" y1="{{axisBottom}}" x2="{{axisRight}}" y2="{{axisBottom}}"/>
        {{#labels}}<text x="{{x}}" y="{{y}}" text-anchor="{{anchor}}">{{text}}</text>{{/labels}}
        {{#bars}}<rect class="bar" x="{{x}}" y="{{y}}" width="{{width}}" height="{{height}}"><title>{{title}}</title></rect>{{/bars}}
        {{#bounds}}<line class="bound" x1="{{plotLeft}}" y1="{{y}}" x2="{{x2}}" y2="{{y}}"/><text x="{{x2}}" y="{{y}}" dy="-3" text-anchor="end">{{label}}</text>{{/bounds}}
        {{#polylines}}<polyline class="{{cssClass}}" points="{{points}}"/>{{/polylines}}
        {{#dots}}<circle class="{{cssClass}}" cx="{{x}}" cy="{{y}}" r="3.5"><title>{{title}}</title></circle>{{/dots}}
        </svg>
        """
}

extension ModelArtifact {
    /// The program that wrote an ONNX model (`skl2onnx 1.17`…), nil for Conveyor's own learners.
    var onnxProducer: String? {
        if case .onnx(let onnx) = predictor { return onnx.model.producer }
        return nil
    }
}

/// The chart's many small parts answer template lookups directly (see
/// `TimelineEntry`'s conformance: reflection per lookup was measured to dominate).
extension SVGChart.Dot: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "x": x
        case "y": y
        case "cssClass": cssClass
        case "title": title
        default: nil
        }
    }
}

extension SVGChart.Bar: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "x": x
        case "y": y
        case "width": width
        case "height": height
        case "title": title
        default: nil
        }
    }
}

extension SVGChart.Label: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "x": x
        case "y": y
        case "anchor": anchor
        case "text": text
        default: nil
        }
    }
}
