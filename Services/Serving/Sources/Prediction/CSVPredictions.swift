import Foundation
import Hummingbird
import Learning
import ServiceKit

/// Batch scoring with `Content-Type: text/csv`: a header row naming the
/// features (other columns are ignored), one instance per row; the answer is
/// CSV with one row per instance, in order.
struct CSVPredictions {
    let scorer: PredictionScorer

    func answer(body: ByteBuffer, requestID: String) async throws -> Response {
        let answer = try await scorer.answer(requestID: requestID) { model in
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
            body: .init(byteBuffer: ByteBuffer(string: Self.render(answer.outputs, classes: answer.classes))))
    }

    /// `prediction` per row, or `label` and `probability_<class>` columns.
    static func render(_ outputs: [PredictedValue], classes: [String]) -> String {
        var text =
            classes.isEmpty
            ? "prediction\n"
            : (["label"] + classes.map { "probability_\($0)" }).map(quote).joined(separator: ",") + "\n"
        text.reserveCapacity(text.utf8.count + outputs.count * (classes.isEmpty ? 20 : 20 * (classes.count + 1)))
        for output in outputs {
            switch output.output {
            case .value(let value): text += "\(value)\n"
            case .label(let label, let probabilities):
                text += quote(label)
                for probability in probabilities { text += ",\(probability)" }
                text += "\n"
            }
        }
        return text
    }

    /// RFC 4180 quoting when a field needs it.
    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

}
