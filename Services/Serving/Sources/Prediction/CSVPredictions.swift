import Foundation
import Hummingbird
import Learning
import ServiceKit

/// Batch scoring with `Content-Type: text/csv`: a header row naming the
/// features (other columns are ignored), one instance per row; the answer is
/// CSV with one row per instance, in order.
struct CSVPredictions {
    let scorer: PredictionScorer

    func answer(body: ByteBuffer, requestID: String, model: LoadedModel, explain: Bool = false) async throws
        -> Response
    {
        let answer = try await scorer.answer(requestID: requestID, model: model, explain: explain) { model in
            guard model.artifact.forecast == nil else {
                throw APIError(.unsupportedMediaType, "a forecast model takes JSON {\"horizon\": N}, not CSV")
            }
            let table: CSVTable
            do {
                table = try CSVTable(bytes: Array(body.readableBytesView))
            } catch let error as CSVTable.ParseError {
                throw APIError.validation([FieldProblem(field: "line \(error.line)", problem: error.problem)])
            }
            let features = model.artifact.features
            let absent = features.filter { table.column($0.name) == nil && ($0.missing ?? .reject) == .reject }
            guard absent.isEmpty else {
                throw APIError.validation(
                    absent.map { FieldProblem(field: "header", problem: "has no column \"\($0.name)\"") })
            }
            var columns: [String: Int] = [:]
            for feature in features { columns[feature.name] = table.column(feature.name) }
            if let idField = scorer.idField, columns[idField] == nil { columns[idField] = table.column(idField) }
            return .rows(
                count: table.rowCount, countField: "rows", field: { "rows[\($0)] (line \(table.line(ofRow: $0)))." }
            ) { row, name in
                guard let column = columns[name] else { return nil }
                let text = table.field(row: row, column: column)
                return CSVTable.isMissing(text) ? .missing : .text(text)
            }
        }
        return Response(
            status: .ok, headers: PredictionScorer.headers(answer, contentType: "text/csv; charset=utf-8"),
            body: .init(
                byteBuffer: ByteBuffer(
                    string: Self.render(
                        answer.outputs, classes: answer.classes, explanations: answer.explanations,
                        inputs: (try? answer.call.model.explainer.get())?.inputNames ?? []))))
    }

    /// `prediction` per row, or `label` and `probability_<class>` columns; with explanations,
    /// then `base_value` and `contribution_<feature>` (per class for a classifier:
    /// `base_value_<class>`, `contribution_<class>_<feature>`).
    static func render(
        _ outputs: [PredictedValue], classes: [String], explanations: [Explanation] = [], inputs: [String] = []
    ) -> String {
        var header = classes.isEmpty ? ["prediction"] : ["label"] + classes.map { "probability_\($0)" }
        if !explanations.isEmpty {
            if classes.isEmpty {
                header += ["base_value"] + inputs.map { "contribution_\($0)" }
            } else {
                for name in classes {
                    header += ["base_value_\(name)"] + inputs.map { "contribution_\(name)_\($0)" }
                }
            }
        }
        var text = header.map(quote).joined(separator: ",") + "\n"
        text.reserveCapacity(text.utf8.count + outputs.count * 20 * header.count)
        for (index, output) in outputs.enumerated() {
            switch output.output {
            case .value(let value): text += "\(value)"
            case .label(let label, let probabilities):
                text += quote(label)
                for probability in probabilities { text += ",\(probability)" }
            }
            if index < explanations.count {
                let explanation = explanations[index]
                for (k, base) in explanation.baseValues.enumerated() {
                    text += ",\(base)"
                    for value in explanation.contributions[k] { text += ",\(value)" }
                }
            }
            text += "\n"
        }
        return text
    }

    /// RFC 4180 quoting when a field needs it.
    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

}
