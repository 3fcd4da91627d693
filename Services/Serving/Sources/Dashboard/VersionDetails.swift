import Foundation
import JSON
import Learning

/// The parts of a version both its page and the compare page show: its
/// parameters flattened, gates, feature schema with reference histograms,
/// and the confusion matrix as a heat map.
enum VersionDetails {
    struct Pair: Sendable {
        let name: String
        let value: String
    }

    struct Gate: Sendable {
        let gate: String
        let metric: String
        let value: String
        let threshold: String
        let state: String
        let stateClass: String
        let detail: String
    }

    struct Feature: Sendable {
        let name: String
        let type: String
        let range: String
        let categories: String
        let missing: String
        let histogram: SVGChart?
        let frequencies: [Frequency]
    }

    struct Frequency: Sendable {
        let category: String
        let count: Int
        let widthPercent: String
    }

    /// One input's global importance (mean |contribution|), with its bar's width.
    struct Importance: Sendable {
        let name: String
        let value: String
        let raw: String
        let width: String
    }

    /// The artifact's global importance, largest first, bars up to 300 px.
    static func importance(_ artifact: ModelArtifact?) -> [Importance] {
        let entries = (artifact?.importance ?? [:]).sorted { ($1.value, $0.key) < ($0.value, $1.key) }
        let largest = max(entries.first?.value ?? 0, 1e-300)
        return entries.map { name, value in
            Importance(
                name: name, value: DashboardFormat.number(value), raw: "\(value)",
                width: String(Int((300 * value / largest).rounded())))
        }
    }

    struct HeatMap: Sendable {
        struct Cell: Sendable {
            let count: Int
            let style: String
        }
        struct Row: Sendable {
            let label: String
            let cells: [Cell]
        }
        let classes: [String]
        let rows: [Row]
    }

    /// `{"algorithm": "x", "params": {"l2": 0.1}}` → `algorithm = x`, `params.l2 = 0.1`.
    static func flatten(_ value: JSONValue, prefix: String = "") -> [Pair] {
        switch value {
        case .object(let object):
            return object.sorted { $0.key < $1.key }.flatMap {
                flatten($0.value, prefix: prefix.isEmpty ? $0.key : "\(prefix).\($0.key)")
            }
        case .null: return prefix.isEmpty ? [] : [Pair(name: prefix, value: "null")]
        case .string(let text): return [Pair(name: prefix, value: text)]
        case .number(let number): return [Pair(name: prefix, value: DashboardFormat.number(number))]
        case .bool(let flag): return [Pair(name: prefix, value: String(flag))]
        case .array(let items):
            let encoded = items.map { item in
                (try? JSONEncoder().encode(item)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
            }
            return [Pair(name: prefix, value: encoded.joined(separator: ", "))]
        }
    }

    static func gates(_ gates: [DashboardStore.GateRecord]) -> [Gate] {
        gates.map {
            Gate(
                gate: $0.gate, metric: $0.metric, value: $0.value.map(DashboardFormat.number) ?? "–",
                threshold: $0.threshold.map(DashboardFormat.number) ?? "–", state: $0.passed ? "passed" : "failed",
                stateClass: $0.passed ? "state-passed" : "state-failed", detail: $0.detail)
        }
    }

    static func features(_ artifact: ModelArtifact) -> [Feature] {
        artifact.features.map { spec in
            let reference = artifact.reference[spec.name]
            let histogram = reference?.histogram.map {
                SVGChart.histogram(
                    title: "\(spec.name) at training", edges: $0.edges, counts: $0.counts, min: reference?.min,
                    max: reference?.max)
            }
            let frequencies = reference?.frequencies ?? [:]
            let most = Double(max(1, frequencies.values.max() ?? 1))
            return Feature(
                name: spec.name, type: spec.type.rawValue,
                range: [
                    spec.min.map { "min \(DashboardFormat.number($0))" },
                    spec.max.map { "max \(DashboardFormat.number($0))" },
                ]
                .compactMap { $0 }.joined(separator: ", "),
                categories: spec.categories?.joined(separator: ", ") ?? "", missing: (spec.missing ?? .reject).rawValue,
                histogram: histogram,
                frequencies: frequencies.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(12).map {
                    Frequency(
                        category: $0.key, count: $0.value,
                        widthPercent: String(format: "%.0f", 100 * Double($0.value) / most))
                })
        }
    }

    /// Rows are the true class, columns the predicted one; the shade follows the share of the row.
    static func heatMap(_ artifact: ModelArtifact?) -> HeatMap? {
        guard let artifact, let matrix = artifact.confusionMatrix, let classes = artifact.classes,
            matrix.count == classes.count
        else { return nil }
        let rows = zip(classes, matrix).map { label, counts in
            let total = Double(max(1, counts.reduce(0, +)))
            return HeatMap.Row(
                label: label,
                cells: counts.map { count in
                    let alpha = Double(count) / total
                    return HeatMap.Cell(
                        count: count,
                        style: String(
                            format: "background: rgba(36, 87, 197, %.2f); color: %@", alpha,
                            alpha > 0.55 ? "#fff" : "#1d232a"))
                })
        }
        return HeatMap(classes: classes, rows: rows)
    }

    /// The partials `heatmap` and `features`.
    static let heatMapTemplate = """
        <table class="heat confusion-matrix"><tr><th>true ＼ predicted</th>{{#classes}}<th>{{.}}</th>{{/classes}}</tr>
        {{#rows}}<tr><th>{{label}}</th>{{#cells}}<td style="{{style}}">{{count}}</td>{{/cells}}</tr>{{/rows}}</table>
        """

    static let featuresTemplate = """
        <table class="features"><tr><th>feature</th><th>type</th><th>range / categories</th><th>missing</th><th>at training</th></tr>
        {{#features}}<tr><td><code>{{name}}</code></td><td>{{type}}</td><td class="small">{{range}}{{categories}}</td><td>{{missing}}</td>
        <td>{{#histogram}}{{> chart}}{{/histogram}}
        {{#frequencies}}<div class="probability small"><span style="width: 8em">{{category}}</span><span class="bar" style="width: {{widthPercent}}px"></span>{{count}}</div>{{/frequencies}}</td></tr>{{/features}}
        </table>
        """
}
