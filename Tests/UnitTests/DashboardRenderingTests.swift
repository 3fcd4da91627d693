import Foundation
import Registry
import ServiceKit
import Testing

@testable import ServingService

/// The dashboard's pure parts: escaping through the templates, chart geometry
/// and the compare page's better/worse verdicts.
@Suite("Dashboard rendering")
struct DashboardRenderingTests {
    @Test("text from a pull request is escaped by the templates, in text and in attributes")
    func escaping() throws {
        let pages = try PageRenderer(
            service: "serving", nav: [.init("Home", "/")],
            templates: ["t": #"{{> head}}<p title="{{title}}">{{#page}}{{text}}{{/page}}</p>{{> foot}}"#])
        let html = pages.render(
            "t", title: #"x" onmouseover="alert(1)"#, page: ["text": "<script>alert(1)</script> & 'q'"])
        #expect(!html.contains("<script>alert"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;q&#39;"))
        #expect(!html.contains(#"" onmouseover="#))
    }

    @Test("a run page lists its repository tests' failures and its fetched data, escaped")
    func runPageTestsAndData() throws {
        let pages = try PageRenderer(
            service: "serving", nav: [.init("Home", "/")], templates: ["run": RunPage.template])
        let tests = try #require(
            TestSummary(
                #"{"passed": 3, "failed": 1, "errors": 0, "skipped": 1, "seconds": 2.04, "exit_status": 1, "has_report": true,"#
                    + #""failures": [{"name": "tests/test_x.py::test_<img src=x onerror=alert(1)>", "message": "assert 1 == 2"}]}"#
            ))
        let data = DataFileRow.rows(
            #"[{"key": "data.train", "source": "url", "url": "https://data.example/t.csv", "sha256": "ab12", "bytes": 2048, "downloaded": false}]"#
        )
        let run = DashboardStore.Run(
            id: 7, kind: .merge, prNumber: 3, prTitle: "t", prAuthor: "a", commit: "abc", status: .failed,
            reason: "tests: tests failed", version: nil, metrics: [:], gates: [], timings: [:], createdAt: Date(),
            startedAt: nil, finishedAt: nil, markedBadReason: nil, log: "", dataFiles: data, tests: tests)
        let html = pages.render(
            "run", title: "run 7", page: RunPage(run, liveVersion: nil, links: GitHubLinks(repository: nil)))
        #expect(html.contains("3 passed, 1 failed, 0 errors, 1 skipped in 2.0 s"), "\(html)")
        #expect(html.contains("test_&lt;img src=x onerror=alert(1)&gt;") && !html.contains("<img src=x"))
        #expect(html.contains("https://data.example/t.csv") && html.contains("sha256 ab12"))
        #expect(html.contains("2 KB") && html.contains("from the cache"), "\(html)")
        #expect(TestSummary(nil) == nil && DataFileRow.rows("not json").isEmpty)
    }

    @Test("a line chart puts one point per value, in order, inside the plot; bounds become dashed lines")
    func lineChart() {
        let chart = SVGChart.lines(
            title: "rmse",
            series: [
                .init(lineClass: "series", pointClass: "point", points: [(0, 3.0, "a"), (1, 2.0, "b"), (2, 4.0, "c")])
            ],
            xLabels: ["a", "b", "c"], bounds: [("rmse.max", 5)])
        #expect(chart.dots.count == 3)
        let xs = chart.dots.compactMap { Double($0.x) }
        let ys = chart.dots.compactMap { Double($0.y) }
        #expect(xs == xs.sorted() && xs.first == 52 && xs.last == 548)
        // SVG y grows downwards: the largest value is highest.
        #expect(ys[2] < ys[0] && ys[0] < ys[1])
        #expect(ys.allSatisfy { $0 >= 12 && $0 <= 186 })
        #expect(chart.bounds.count == 1 && Double(chart.bounds[0].y)! < ys[2])
    }

    @Test("a density histogram: bars span their bins' values and the densest bin is the tallest")
    func histogram() {
        // Bins: below 1, [1,2), [2,4), at or above 4; min 0, max 8.
        let chart = SVGChart.histogram(title: "x", edges: [1, 2, 4], counts: [10, 10, 10, 10], min: 0, max: 8)
        #expect(chart.bars.count == 4)
        let heights = chart.bars.compactMap { Double($0.height) }
        // Widths 1, 1, 2, 4 with equal counts: densities 10, 10, 5, 2.5.
        #expect(abs(heights[0] - heights[1]) < 0.2 && abs(heights[2] - heights[0] / 2) < 0.2)
        #expect(abs(heights[3] - heights[0] / 4) < 0.2)
        #expect(SVGChart.histogram(title: "x", edges: [1], counts: [1], min: 0, max: 2).bars.isEmpty)
    }

    @Test("compare: lower is better for errors, higher for r2 and accuracy; differences are b − a")
    func verdicts() {
        let rows = ComparePage.metricRows(
            ["rmse": 3.0, "r2": 0.8, "accuracy": 0.9, "mae": 1], ["rmse": 2.5, "r2": 0.7, "accuracy": 0.95, "mae": 1])
        let verdicts = Dictionary(uniqueKeysWithValues: rows.map { ($0.metric, $0.verdict) })
        #expect(verdicts == ["rmse": "better", "r2": "worse", "accuracy": "better", "mae": "same"])
        #expect(rows.first { $0.metric == "rmse" }?.difference == "-0.5")
        #expect(
            ComparePage.differences(["a": "1", "b": "2"], ["b": "3", "c": "4"]).map(\.change)
                == ["removed", "changed", "added"])
    }

    @Test("a preview's line says what the preview found, never a deployed state, even when its model was rolled back")
    func previewLine() {
        func run(kind: RunKind, id: Int64) -> DashboardStore.Run {
            DashboardStore.Run(
                id: id, kind: kind, prNumber: 8, prTitle: "Another push", prAuthor: "dana", commit: "6b66b036bbf0",
                status: .succeeded, reason: kind == .preview ? "preview: every gate passed" : "deployed",
                version: "preview-16-pr8-443f72a", metrics: [:], gates: [], timings: [:], createdAt: Date(),
                startedAt: nil, finishedAt: nil, markedBadReason: "automatic rollback of preview-16-pr8-443f72a",
                log: nil)
        }
        let links = GitHubLinks(repository: nil)
        let preview = TimelineEntry(run(kind: .preview, id: 16), liveVersion: nil, repository: links)
        #expect(preview.state == "preview passed")
        #expect(preview.reason == "preview: every gate passed")
        #expect(preview.version == nil && preview.href == "/runs/16")
        let merge = TimelineEntry(run(kind: .merge, id: 17), liveVersion: nil, repository: links)
        #expect(merge.state == "rolled back")
        #expect(merge.reason == "automatic rollback of preview-16-pr8-443f72a")
    }
}
