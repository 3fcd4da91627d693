import Foundation
import Learning

/// `GET /compare?a=…&b=…`: two versions side by side — metrics with the
/// difference coloured better/worse for that metric, parameters, feature
/// schema, data and gates that differ, and both confusion matrices.
struct ComparePage {
    struct Side {
        let version: String
        let prNumber: Int64
        let prTitle: String
        let dataSHA256: String
        let dataRows: String
        let heatMap: VersionDetails.HeatMap?
    }

    struct MetricRow {
        let metric: String
        let a: String
        let b: String
        let difference: String
        let relative: String
        let verdict: String
    }

    struct DiffRow {
        let name: String
        let a: String
        let b: String
        let change: String
    }

    let a: Side
    let b: Side
    let metrics: [MetricRow]
    let params: [DiffRow]
    let features: [DiffRow]
    let gates: [DiffRow]
    let rowsDifference: String
    let sameData: Bool

    static func build(_ a: DashboardStore.Version, _ b: DashboardStore.Version, artifacts: VersionArtifacts) async
        -> ComparePage
    {
        let artifactA = await artifacts.artifact(version: a.version, path: a.artifactPath, sha256: a.artifactSHA256)
        let artifactB = await artifacts.artifact(version: b.version, path: b.artifactPath, sha256: b.artifactSHA256)
        func side(_ version: DashboardStore.Version, _ artifact: ModelArtifact?) -> Side {
            Side(
                version: version.version, prNumber: version.prNumber, prTitle: version.prTitle ?? "",
                dataSHA256: version.dataSHA256 ?? "–", dataRows: version.dataRows.map(String.init) ?? "–",
                heatMap: VersionDetails.heatMap(artifact))
        }
        var rowsDifference = "–"
        if let left = a.dataRows, let right = b.dataRows { rowsDifference = signed(Double(right - left)) }
        return ComparePage(
            a: side(a, artifactA), b: side(b, artifactB), metrics: metricRows(a.metrics, b.metrics),
            params: differences(
                Dictionary(VersionDetails.flatten(a.params).map { ($0.name, $0.value) }) { $1 },
                Dictionary(VersionDetails.flatten(b.params).map { ($0.name, $0.value) }) { $1 }),
            features: differences(schema(artifactA), schema(artifactB)),
            gates: differences(gateOutcomes(a.gates), gateOutcomes(b.gates), keepSame: true),
            rowsDifference: rowsDifference, sameData: a.dataSHA256 != nil && a.dataSHA256 == b.dataSHA256)
    }

    /// b against a: the difference, its share of a, and whether it is better for that metric.
    static func metricRows(_ a: [String: Double], _ b: [String: Double]) -> [MetricRow] {
        Set(a.keys).union(b.keys).sorted().map { metric in
            let left = a[metric]
            let right = b[metric]
            guard let left, let right else {
                return MetricRow(
                    metric: metric, a: left.map(DashboardFormat.number) ?? "–",
                    b: right.map(DashboardFormat.number) ?? "–",
                    difference: "–", relative: "", verdict: "")
            }
            let difference = right - left
            let better = RegressionMetrics.higherIsBetter(metric) ? difference > 0 : difference < 0
            return MetricRow(
                metric: metric, a: DashboardFormat.number(left), b: DashboardFormat.number(right),
                difference: signed(difference),
                relative: left == 0 ? "" : String(format: "%+.1f%%", 100 * difference / abs(left)),
                verdict: difference == 0 ? "same" : better ? "better" : "worse")
        }
    }

    /// Keys whose values differ (added, removed, changed); `keepSame` lists equal ones too.
    static func differences(_ a: [String: String], _ b: [String: String], keepSame: Bool = false) -> [DiffRow] {
        Set(a.keys).union(b.keys).sorted().compactMap { key in
            switch (a[key], b[key]) {
            case (nil, let right?): DiffRow(name: key, a: "–", b: right, change: "added")
            case (let left?, nil): DiffRow(name: key, a: left, b: "–", change: "removed")
            case (let left?, let right?) where left != right: DiffRow(name: key, a: left, b: right, change: "changed")
            case (let left?, let right?) where keepSame: DiffRow(name: key, a: left, b: right, change: "same")
            default: nil
            }
        }
    }

    /// Each feature's type, range and categories as one comparable line.
    static func schema(_ artifact: ModelArtifact?) -> [String: String] {
        Dictionary(
            (artifact?.features ?? []).map { spec in
                var parts = [spec.type.rawValue]
                if let min = spec.min { parts.append("min \(DashboardFormat.number(min))") }
                if let max = spec.max { parts.append("max \(DashboardFormat.number(max))") }
                if let categories = spec.categories { parts.append("{\(categories.joined(separator: ", "))}") }
                return (spec.name, parts.joined(separator: " "))
            }
        ) { $1 }
    }

    static func gateOutcomes(_ gates: [DashboardStore.GateRecord]) -> [String: String] {
        Dictionary(gates.map { ("\($0.gate) (\($0.metric))", $0.passed ? "passed" : "failed") }) { $1 }
    }

    static func signed(_ value: Double) -> String {
        value > 0 ? "+" + DashboardFormat.number(value) : DashboardFormat.number(value)
    }

    static let template = """
        {{> head}}
        {{#page}}
        <h1>Compare <code id="version-a">{{a.version}}</code> with <code id="version-b">{{b.version}}</code></h1>
        <p class="muted">a: PR #{{a.prNumber}} <span class="pr-title">{{a.prTitle}}</span> · b: PR #{{b.prNumber}}
        <span class="pr-title">{{b.prTitle}}</span>. Differences are b − a; green is better for that metric.</p>
        <h2>Metrics</h2>
        <table id="metric-diff"><tr><th>metric</th><th>a</th><th>b</th><th>b − a</th><th></th></tr>
        {{#metrics}}<tr data-metric="{{metric}}" data-verdict="{{verdict}}"><td>{{metric}}</td><td class="num">{{a}}</td><td class="num">{{b}}</td>
        <td class="num {{verdict}}">{{difference}}</td><td class="small {{verdict}}">{{relative}} {{verdict}}</td></tr>{{/metrics}}</table>
        <h2>Parameters that differ</h2>
        <table id="param-diff"><tr><th>parameter</th><th>a</th><th>b</th><th></th></tr>{{#params}}<tr><td><code>{{name}}</code></td><td>{{a}}</td><td>{{b}}</td><td>{{change}}</td></tr>{{/params}}</table>
        {{^params}}<p class="muted">The same parameters.</p>{{/params}}
        <h2>Feature schema</h2>
        <table id="feature-diff"><tr><th>feature</th><th>a</th><th>b</th><th></th></tr>{{#features}}<tr data-feature="{{name}}" data-change="{{change}}"><td><code>{{name}}</code></td><td>{{a}}</td><td>{{b}}</td><td>{{change}}</td></tr>{{/features}}</table>
        {{^features}}<p class="muted">The same features.</p>{{/features}}
        <h2>Data</h2>
        <table id="data-diff"><tr><th></th><th>a</th><th>b</th></tr>
        <tr><td>sha256</td><td><code>{{a.dataSHA256}}</code></td><td><code>{{b.dataSHA256}}</code></td></tr>
        <tr><td>rows</td><td class="num">{{a.dataRows}}</td><td class="num">{{b.dataRows}} ({{rowsDifference}})</td></tr></table>
        {{#sameData}}<p class="muted">The same data.</p>{{/sameData}}
        <h2>Gates</h2>
        <table id="gate-diff"><tr><th>gate</th><th>a</th><th>b</th><th></th></tr>{{#gates}}<tr><td>{{name}}</td><td>{{a}}</td><td>{{b}}</td><td>{{change}}</td></tr>{{/gates}}</table>
        <div class="cards">
        {{#a.heatMap}}<div class="card"><h2>a: confusion matrix</h2>{{> heatmap}}</div>{{/a.heatMap}}
        {{#b.heatMap}}<div class="card"><h2>b: confusion matrix</h2>{{> heatmap}}</div>{{/b.heatMap}}
        </div>
        {{/page}}
        {{> foot}}
        """
}
