import Foundation
import Learning

/// Replays logged requests through a candidate model.
public enum ShadowReplay {
    /// How a candidate answers the requests it accepted, all at once (a Python model's worker);
    /// nil for a model that answers in process.
    public typealias Answerer = ([ShadowRequest]) throws -> [ModelArtifact.Output]

    public static func compare(
        candidate: ModelArtifact, liveVersion: String, requests: [ShadowRequest], answer: Answerer? = nil
    ) -> ShadowComparison {
        let encoder = candidate.encoder
        var failures = 0
        var problems: [String: Int] = [:]
        var differences: [Double] = []
        var labelled = 0
        var disagreements = 0
        var shift = 0.0
        var accepted: [(request: ShadowRequest, row: [Double])] = []
        for request in requests {
            switch encoder.encode({ request.values[$0] }) {
            case .problems(let found):
                failures += 1
                for problem in Set(found.map { "\($0.field): \($0.problem)" }) { problems[problem, default: 0] += 1 }
            case .vector(let row):
                accepted.append((request, row))
            }
        }
        var outputs: [ModelArtifact.Output]
        if let answer {
            do {
                outputs = try answer(accepted.map(\.request))
            } catch {
                failures += accepted.count
                problems["the model raised: \(error)", default: 0] += accepted.count
                outputs = []
                accepted = []
            }
        } else {
            outputs = accepted.map { candidate.output(encoded: $0.row) }
        }
        for (request, output) in zip(accepted.map(\.request), outputs) {
            switch (output, request.answer) {
            case (.value(let value), .value(let live)):
                if value.isFinite, live.isFinite { differences.append(abs(value - live)) }
            case (.label(let label, let probabilities), .label(let liveLabel, let liveProbabilities)):
                labelled += 1
                if label != liveLabel { disagreements += 1 }
                let candidateProbabilities = Dictionary(
                    zip(candidate.classes ?? [], probabilities), uniquingKeysWith: { first, _ in first })
                let classes = Set(candidateProbabilities.keys).union(liveProbabilities.keys)
                shift +=
                    0.5
                    * classes.reduce(0) { total, name in
                        total + abs((candidateProbabilities[name] ?? 0) - (liveProbabilities[name] ?? 0))
                    }
            default:
                break  // a different kind of model: only failures are comparable
            }
        }
        differences.sort()
        func quantile(_ q: Double) -> Double {
            differences[min(differences.count - 1, Int((q * Double(differences.count - 1)).rounded()))]
        }
        return ShadowComparison(
            liveVersion: liveVersion, requests: requests.count, failures: failures,
            failureShare: requests.isEmpty ? 0 : Double(failures) / Double(requests.count),
            problems: problems.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(10).map {
                ShadowComparison.Problem(problem: $0.key, count: $0.value)
            },
            meanAbsoluteDifference: differences.isEmpty
                ? nil : differences.reduce(0, +) / Double(differences.count),
            absoluteDifference: differences.isEmpty
                ? nil
                : ShadowComparison.Quantiles(
                    p50: quantile(0.5), p90: quantile(0.9), p99: quantile(0.99), max: differences.last!),
            labelDisagreement: labelled == 0 ? nil : Double(disagreements) / Double(labelled),
            meanProbabilityShift: labelled == 0 ? nil : shift / Double(labelled))
    }

    /// The shadow replay's log line.
    static func describe(_ comparison: ShadowComparison) -> String {
        var parts = ["\(comparison.requests) logged requests of \(comparison.liveVersion) replayed"]
        if let disagreement = comparison.labelDisagreement {
            parts.append("label disagreement \(GateEvaluation.format(disagreement))")
        }
        if let shift = comparison.meanProbabilityShift {
            parts.append("probability shift \(GateEvaluation.format(shift))")
        }
        if let difference = comparison.meanAbsoluteDifference {
            parts.append("mean |difference| \(GateEvaluation.format(difference))")
        }
        parts.append("\(comparison.failures) the candidate refused")
        if let first = comparison.problems.first { parts.append("e.g. \(first.problem) (\(first.count)×)") }
        return "shadow: " + parts.joined(separator: ", ")
    }
}
