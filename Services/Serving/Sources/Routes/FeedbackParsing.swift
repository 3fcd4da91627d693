import Foundation
import Hummingbird
import JSON
import Learning
import ServiceKit

extension FeedbackController {
    /// The items of a JSON body, and whether it was a single one; 400 for
    /// broken JSON, 422 listing every bad field.
    static func jsonItems(_ body: ByteBuffer) throws -> ([Item], Bool) {
        guard case .object(let object) = (try? JSONValue.parse(body.readableBytesView)) ?? .null else {
            throw APIError(
                .badRequest,
                "the body must be a JSON object like {\"request_id\": \"…\", \"actual\": 12.5} or {\"feedback\": [...]}"
            )
        }
        guard let batch = object["feedback"] else { return ([try item(object, field: "")], true) }
        guard case .array(let entries) = batch, !entries.isEmpty, entries.count <= maxItems else {
            throw APIError.validation([
                FieldProblem(field: "feedback", problem: "must be an array of 1 to \(maxItems) objects")
            ])
        }
        var items: [Item] = []
        var problems: [FieldProblem] = []
        for (index, entry) in entries.enumerated() {
            let field = "feedback[\(index)]."
            guard case .object(let fields) = entry else {
                problems.append(FieldProblem(field: "feedback[\(index)]", problem: "must be an object"))
                continue
            }
            do {
                items.append(try item(fields, field: field))
            } catch let error as APIError {
                problems += error.problems
            }
        }
        guard problems.isEmpty else { throw APIError.validation(problems) }
        return (items, false)
    }

    private static func item(_ fields: [String: JSONValue], field: String) throws -> Item {
        var problems: [FieldProblem] = []
        let requestID = fields["request_id"]?.stringValue ?? ""
        let id: String? =
            switch fields["id"] {
            case .string(let text): text
            case .number(let number):
                number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
            default: nil
            }
        if (requestID.isEmpty && (id ?? "").isEmpty) || requestID.count > 200 {
            problems.append(
                FieldProblem(
                    field: field + "request_id",
                    problem: "is required: the request_id /predict answered with (or id, the business id)"))
        }
        if let value = fields["request_id"], value.stringValue == nil {
            problems.append(FieldProblem(field: field + "request_id", problem: "must be a string"))
        }
        problems += [
            StoredText.problem(requestID, field: field + "request_id"),
            id.flatMap { StoredText.problem($0, field: field + "id") },
            fields["actual"]?.stringValue.flatMap { StoredText.problem($0, field: field + "actual") },
        ].compactMap { $0 }
        if let value = fields["id"], id == nil {
            problems.append(
                FieldProblem(field: field + "id", problem: "must be a string or a number, got \(value.kindName)"))
        }
        var position = 0
        if let value = fields["position"] {
            if let number = value.integerValue, number >= 0, number <= 100_000 {
                position = Int(number)
            } else {
                problems.append(
                    FieldProblem(field: field + "position", problem: "must be a whole number from 0 to 100000"))
            }
        }
        let actual = fields["actual"] ?? .null
        switch actual {
        case .number, .string: break
        default:
            problems.append(FieldProblem(field: field + "actual", problem: "is required: a number or a class label"))
        }
        guard problems.isEmpty else { throw APIError.validation(problems) }
        return Item(
            field: field, requestID: requestID, position: position, actual: actual, id: requestID.isEmpty ? id : nil)
    }

    /// The items of a CSV body with a `request_id` and an `actual` column (and optionally `position`).
    static func csvItems(_ bytes: [UInt8]) throws -> [Item] {
        let table: CSVTable
        do {
            table = try CSVTable(bytes: bytes)
        } catch {
            throw APIError(.badRequest, "the CSV does not parse: \(error)")
        }
        let idColumn = table.header.firstIndex(of: "request_id")
        let businessColumn = table.header.firstIndex(of: "id")
        guard idColumn != nil || businessColumn != nil, let actual = table.header.firstIndex(of: "actual") else {
            throw APIError.validation([
                FieldProblem(
                    field: "header", problem: "needs request_id (or id) and actual columns (position is optional)")
            ])
        }
        guard table.rowCount >= 1, table.rowCount <= maxItems else {
            throw APIError.validation([FieldProblem(field: "rows", problem: "must be 1 to \(maxItems) rows")])
        }
        let positionColumn = table.header.firstIndex(of: "position")
        var items: [Item] = []
        var problems: [FieldProblem] = []
        for row in 0..<table.rowCount {
            let field = "line \(row + 2): "
            let requestID = idColumn.map { table.field(row: row, column: $0) } ?? ""
            let business = requestID.isEmpty ? businessColumn.map { table.field(row: row, column: $0) } : nil
            let value = table.field(row: row, column: actual)
            let position = positionColumn.map { Int(table.field(row: row, column: $0)) } ?? 0
            if requestID.isEmpty && (business ?? "").isEmpty {
                problems.append(FieldProblem(field: field + "request_id", problem: "is empty"))
            }
            if value.isEmpty { problems.append(FieldProblem(field: field + "actual", problem: "is empty")) }
            problems += [
                StoredText.problem(requestID, field: field + "request_id"),
                business.flatMap { StoredText.problem($0, field: field + "id") },
                StoredText.problem(value, field: field + "actual"),
            ].compactMap { $0 }
            guard let position, position >= 0 else {
                problems.append(FieldProblem(field: field + "position", problem: "must be a whole number from 0"))
                continue
            }
            items.append(
                Item(field: field, requestID: requestID, position: position, actual: .string(value), id: business))
        }
        guard problems.isEmpty else { throw APIError.validation(problems) }
        return items
    }
}
