import Foundation
import Learning
import Registry

/// What a preview says on its pull request: the commit status (state and a
/// one-line description of at most 140 characters) and the comment, a
/// Markdown report of the candidate against the live model.
struct PreviewReport: Sendable {
    let run: Int64
    let pr: Int64
    let commit: String
    let status: RunOutcome
    let reason: String?
    let outcome: TrainingOutcome?
    let live: LiveComparison?
    /// What the repository's tests said (nil: it has none, or they did not run).
    var tests: RepositoryTestReport? = nil
    /// The data fetched outside git.
    var data: [DataLineage] = []

    /// Whether the repository's own tests failed (the PR's doing, like a gate).
    private var testsFailed: Bool { tests.map { !$0.succeeded } ?? false }

    /// The commit status's state: a passed preview `success`, a gate or a test `failure`, anything else `error`.
    var state: String {
        if testsFailed { return "failure" }
        return switch status {
        case .succeeded: "success"
        case .rejected: "failure"
        case .failed, .cancelled: "error"
        }
    }

    /// e.g. `rmse 3.04 (−2.1% vs live) · all gates passed`.
    var description: String {
        var text: String
        switch status {
        case .succeeded:
            text = [headline, "all gates passed"].compactMap { $0 }.joined(separator: " · ")
        case .rejected:
            let failed = outcome?.gates.filter { !$0.passed }.map(\.gate) ?? []
            text = [headline, "failed: " + failed.joined(separator: ", ")].compactMap { $0 }.joined(separator: " · ")
        case .failed: text = "error: " + (reason ?? "the run failed")
        case .cancelled: text = reason ?? "cancelled"
        }
        if testsFailed, let tests { text = tests.summary }
        return text.count <= 140 ? text : String(text.prefix(139)) + "…"
    }

    /// The first metric of the model's task, with its change against the live model.
    private var headline: String? {
        guard let outcome, let metric = Self.primary(outcome.artifact.metrics) else { return nil }
        let value = outcome.artifact.metrics[metric] ?? .nan
        var text = "\(metric) \(Self.number(value))"
        if let before = live?.metrics[metric], before != 0 {
            text += " (\(Self.percent((value - before) / abs(before))) vs live)"
        }
        return text
    }

    /// The metric a task is judged by first: rmse, accuracy, or the first one.
    static func primary(_ metrics: [String: Double]) -> String? {
        ["rmse", "accuracy", "mape", "mae"].first { metrics[$0] != nil } ?? metrics.keys.sorted().first
    }

    /// The comment: a hidden marker, the verdict, metrics against live, gates, data, training time.
    func markdown(dashboardRunURL: String?) -> String {
        var lines = [Self.marker]
        let verdict =
            switch status {
            case .succeeded: "✅ every gate passed: merging this would deploy it"
            case .rejected: "❌ a gate refused this model: merging it would keep the live model"
            case .failed: "⚠️ the preview failed"
            case .cancelled: "⏹️ the preview was cancelled"
            }
        lines.append("### Conveyor preview of `\(commit.prefix(7))`: \(verdict)")
        if let reason, status != .succeeded { lines += ["", "> " + Self.escape(reason)] }
        if let tests { lines += testLines(tests) }
        if !data.isEmpty {
            lines += [""] + data.map { "**Data** " + Self.escape($0.summary) + "  " }
        }
        if let outcome {
            let metrics = outcome.artifact.metrics
            lines += [
                "", "| metric | this PR | live `\(Self.escape(live?.version ?? "none"))` | change |",
                "|---|---:|---:|---:|",
            ]
            for name in metrics.keys.sorted() {
                let value = metrics[name] ?? .nan
                let before = live?.metrics[name]
                let change = before.map { $0 == 0 ? "—" : Self.percent((value - $0) / abs($0)) } ?? "—"
                lines.append(
                    "| \(Self.escape(name)) | \(Self.number(value)) | \(before.map(Self.number) ?? "—") | \(change) |")
            }
            lines += ["", "| gate | result | detail |", "|---|---|---|"]
            for gate in outcome.gates {
                lines.append(
                    "| \(Self.escape(gate.gate)) | \(gate.passed ? "pass" : "**fail**") | \(Self.escape(gate.detail)) |"
                )
            }
            let data = outcome.fingerprint
            var dataLine = "**Data:** sha256 `\(data.sha256.prefix(12))` · \(data.rows) rows"
            if let liveSHA = live?.dataSHA256 {
                dataLine +=
                    liveSHA == data.sha256
                    ? " (the same as live)" : " (live: `\(liveSHA.prefix(12))` · \(live?.dataRows ?? 0) rows)"
            }
            lines += ["", dataLine]
            if let train = outcome.timings["train"] {
                let time = train < 1 ? "\(Int((train * 1000).rounded())) ms" : String(format: "%.1f s", train)
                lines += ["", "**Training time:** \(time)"]
            }
        }
        if let dashboardRunURL { lines += ["", "[Run \(run) on the dashboard](\(dashboardRunURL))"] }
        return lines.joined(separator: "\n")
    }

    /// The tests' counts, and a table of the failures named in their report (else the output's tail).
    private func testLines(_ tests: RepositoryTestReport) -> [String] {
        var lines = [
            "",
            "**Tests:** \(tests.passed) passed, \(tests.failed) failed, \(tests.errors) errors, \(tests.skipped) skipped in "
                + String(format: "%.1f s", tests.seconds),
        ]
        if !tests.failures.isEmpty {
            lines += ["", "| failing test | message |", "|---|---|"]
            lines += tests.failures.map { "| `\(Self.codeSpan($0.name))` | \(Self.escape($0.message)) |" }
            let more = tests.failed + tests.errors - tests.failures.count
            if more > 0 { lines += ["", "… and \(more) more"] }
        } else if let output = tests.output, !tests.succeeded {
            lines += ["", "> " + Self.escape(String(output.suffix(500)))]
        }
        return lines
    }

    /// Marks the comment as Conveyor's.
    static let marker = "<!-- conveyor-preview -->"

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        return String(format: abs(value) >= 100 ? "%.1f" : "%.4g", value)
    }

    static func percent(_ fraction: Double) -> String {
        (fraction < 0 ? "−" : "+") + String(format: "%.1f%%", abs(fraction) * 100)
    }

    /// Text inside a code span in a table cell: no backtick can end the span, no line or column break
    /// (entities would show literally there).
    static func codeSpan(_ text: String) -> String {
        text.replacingOccurrences(of: "`", with: "'").replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }

    /// Text from a manifest or a reason, safe in a Markdown table cell (no HTML, no column breaks).
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
    }
}
