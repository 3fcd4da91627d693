import Testing

@testable import ServingService

/// The x axis of the dashboard's charts: whole labels that stay inside the
/// chart and do not overlap (the newest version's among them).
@Suite("Chart labels")
struct ChartLabelTests {
    /// The stylesheet's 11px font: a generous width per character.
    static func extent(_ label: SVGChart.Label) -> ClosedRange<Double> {
        let width = Double(label.text.count) * 6.6
        let x = Double(label.x) ?? .nan
        switch label.anchor {
        case "start": return x...(x + width)
        case "end": return (x - width)...x
        default: return (x - width / 2)...(x + width / 2)
        }
    }

    @Test(
        "version labels are whole, inside the 560-wide chart, apart, and the newest is shown",
        arguments: [1, 2, 3, 5, 12])
    func versionLabels(_ count: Int) {
        let versions = (1...count).map { "v\($0)-pr\($0 + 2)-cd11fa\($0 % 10)" }
        let chart = SVGChart.lines(
            title: "rmse by version",
            series: [
                .init(
                    lineClass: "series", pointClass: "point",
                    points: versions.indices.map { (x: Double($0), y: Double($0), title: versions[$0]) })
            ], xLabels: versions)
        let axis = chart.labels.filter { versions.contains($0.text) }.sorted {
            Self.extent($0).lowerBound < Self.extent($1).lowerBound
        }
        #expect(axis.last?.text == versions.last, "the newest version is labelled: \(axis.map(\.text))")
        for label in axis {
            let extent = Self.extent(label)
            #expect(extent.lowerBound >= 0 && extent.upperBound <= 560, "\(label.text) spans \(extent)")
        }
        for (left, right) in zip(axis, axis.dropFirst()) {
            #expect(
                Self.extent(left).upperBound <= Self.extent(right).lowerBound, "\(left.text) overlaps \(right.text)")
        }
    }
}
