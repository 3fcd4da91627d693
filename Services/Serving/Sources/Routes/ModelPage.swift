import Foundation
import JSON
import ServiceKit

/// The HTML page `GET /` returns to a browser: the deployed model at a
/// glance, self-contained (no scripts, no external assets).
enum ModelPage {
    static func html(_ model: ModelDescription) -> String {
        let date = ISO8601DateFormatter()
        let metrics = model.metrics.sorted { $0.key < $1.key }.map {
            "<tr><td>\(escape($0.key))</td><td>\(format($0.value))</td></tr>"
        }
        .joined()
        let features = model.features.map { feature in
            let range = [feature.min.map { "min \(format($0))" }, feature.max.map { "max \(format($0))" }]
                .compactMap { $0 }.joined(separator: ", ")
            let categories = feature.categories.map { $0.map(escape).joined(separator: ", ") } ?? ""
            return "<tr><td><code>\(escape(feature.name))</code></td><td>\(feature.type)</td><td>\(range)</td>"
                + "<td>\(categories)</td><td>\(feature.missing)</td></tr>"
        }.joined()
        let gates = model.gates.map { gateRows($0) } ?? ""
        let pr = model.pullRequest
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>\(escape(model.model)) · Conveyor</title>
            <style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}td,th{padding:.3em 1em;
            border-bottom:1px solid #ddd;text-align:left}code{background:#f4f4f4;padding:0 .2em}</style></head><body>
            <h1>\(escape(model.model)) <small>version \(escape(model.version))</small></h1>
            <p>\(escape(model.task)) of <code>\(escape(model.target))</code> by \(escape(model.algorithm)),
            trained \(date.string(from: model.trainedAt)), deployed \(date.string(from: model.deployedAt))
            (\(escape(model.deploymentReason))). Format: <code>\(escape(model.format))</code>\(
                model.producer.map { ", produced by <code>\(escape($0))</code>" } ?? "")\(
                model.opsets.map { ", opsets " + $0.sorted { $0.key < $1.key }.map { "\(escape($0.key)) \($0.value)" }.joined(separator: ", ") } ?? "").</p>
            <p>Pull request #\(pr.number)\(pr.title.map { ": " + escape($0) } ?? "")\(pr.author.map { " by " + escape($0) } ?? "")
            at commit <code>\(escape(model.commit))</code>.</p>
            <h2>Metrics</h2><table>\(metrics)</table>
            <h2>Gates</h2><table>\(gates)</table>
            <h2>Features</h2><table><tr><th>name</th><th>type</th><th>range</th><th>categories</th><th>missing</th></tr>
            \(features)</table>
            <p><a href="/docs">API</a> · <a href="/openapi.json">OpenAPI</a> · <a href="/deployments">deployments</a>
            · <a href="/metrics">metrics</a></p></body></html>
            """
    }

    private static func gateRows(_ gates: JSONValue) -> String {
        guard case .array(let items) = gates else { return "" }
        return items.map { gate in
            let name = [gate["gate"]?.stringValue, gate["metric"]?.stringValue].compactMap { $0 }.joined(
                separator: " · ")
            let passed = gate["passed"]?.boolValue
            let detail = gate["detail"]?.stringValue ?? ""
            return "<tr><td>\(escape(name))</td><td>\(passed.map { $0 ? "passed" : "failed" } ?? "")</td>"
                + "<td>\(escape(detail))</td></tr>"
        }.joined()
    }

    private static func format(_ value: Double) -> String { String(format: "%.4g", value) }

    private static func escape(_ text: String) -> String { HTMLText.escape(text) }
}
