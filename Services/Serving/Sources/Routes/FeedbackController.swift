import DurationUnits
import Foundation
import Hummingbird
import JSON
import Learning
import Postgres
import ServiceKit

/// `POST /feedback`: ground truth for logged predictions, joined with them in
/// SQL for live metrics. One `{"request_id", "actual", "position"?}`, a batch
/// `{"feedback": [...]}`, or `text/csv` with `request_id,actual[,position]`.
struct FeedbackController: APIController {
    let store: FeedbackStore
    let monitor: DriftMonitor
    let lateAfter: Duration
    /// `PREDICTION_ID_FIELD`: when set, an item may name its prediction by business id (`id`).
    let idField: String?
    /// Who may send ground truth (`PREDICT_AUTH=token`: tokens with the `feedback` scope).
    let access: PredictionAccess
    /// Most items in one batch.
    static let maxItems = 10_000
    /// How long an unknown request id is waited for (the prediction log's write delay, with room).
    static let logDelay = Duration.milliseconds(250)

    /// One actual for one instance of a logged request.
    struct Item {
        let field: String
        var requestID: String
        var position: Int
        let actual: JSONValue
        /// The business id naming the prediction instead of `requestID`, until resolved.
        var id: String? = nil
    }

    /// The largest feedback body (a CSV of ground truth can be large): above serving's MAX_BODY_BYTES.
    static let maxBody = 16 << 20

    var endpoints: DocumentedRoutes {
        let routes = DocumentedRoutes()
        let controller = self
        let models = monitor.store
        routes.add(middleware: PredictionAuthentication(access: access, scope: .feedback, store: models))
        for path in ["/feedback", "/models/:name/feedback"] {
            let named = path != "/feedback"
            routes.on(
                APIRoute(
                    .post, path,
                    "Record ground truth for logged predictions of "
                        + (named ? "the model named in the path" : "the only model served")
                        + " (one, a batch, or CSV); answers per item: recorded, late, duplicate or unknown.",
                    requestBody: { Self.schemas }, success: .ok,
                    parameters: named ? ["name": ModelsController.nameSchema] : [:], maxBodyBytes: Self.maxBody)
            ) { request, context in
                let model = try await models.resolve(context.parameters.get("name"))
                return try await controller.record(request, model: model.name)
            }
        }
        return routes
    }

    static let itemSchema = JSONValue.object([
        "type": .string("object"), "required": .array([.string("actual")]),
        "description": .string("Names the prediction by request_id, or by id when PREDICTION_ID_FIELD is set."),
        "properties": .object([
            "request_id": .object(["type": .string("string"), "minLength": .number(1), "maxLength": .number(200)]),
            "id": .object(["type": .array([.string("string"), .string("number")])]),
            "position": .object(["type": .string("integer"), "minimum": .number(0), "maximum": .number(100_000)]),
            "actual": .object(["type": .array([.string("number"), .string("string")])]),
        ]),
    ])

    static var schemas: [String: JSONValue] {
        [
            "application/json": .object([
                "oneOf": .array([
                    itemSchema,
                    .object([
                        "type": .string("object"), "required": .array([.string("feedback")]),
                        "properties": .object([
                            "feedback": .object([
                                "type": .string("array"), "items": itemSchema, "minItems": .number(1),
                                "maxItems": .number(Double(maxItems)),
                            ])
                        ]),
                    ]),
                ])
            ]),
            "text/csv": .object(["type": .string("string")]),
        ]
    }

    /// Records the items about predictions of `model` (one of another model's is unknown here).
    func record(_ request: Request, model: String) async throws -> Response {
        let body = try await request.collectBody(upTo: Self.maxBody)
        let isCSV = (request.headers[.contentType] ?? "").lowercased().hasPrefix("text/csv")
        var (items, single) = try isCSV ? (Self.csvItems(Array(body.readableBytesView)), false) : Self.jsonItems(body)
        items = try await resolveIDs(items)
        // A business id no prediction carried is unknown already: its placeholder is not looked up.
        let requestIDs = Set(items.filter { $0.id == nil || !$0.requestID.hasPrefix(Self.unresolved) }.map(\.requestID))
        let found = try await Self.lookingTwice(requestIDs) { try await store.predictions(of: $0) }
        var problems: [FieldProblem] = []
        var results: [[String: JSONValue]] = []
        var rows: [(Item, FeedbackStore.Prediction)] = []
        for item in items {
            guard let prediction = found[item.requestID], prediction.model == model else {
                results.append(
                    Self.result(
                        item, status: "unknown", detail: "no logged prediction of \"\(model)\" has this request id"))
                continue
            }
            guard item.position < prediction.instances else {
                problems.append(
                    FieldProblem(
                        field: item.field + "position",
                        problem:
                            "request \(item.requestID) answered \(prediction.instances) instance(s): use 0 to \(prediction.instances - 1)"
                    ))
                continue
            }
            switch try await canonical(item.actual, version: prediction.version) {
            case .failure(let mismatch):
                problems.append(FieldProblem(field: item.field + "actual", problem: mismatch.problem))
            case .success(let actual):
                let stored = Item(field: item.field, requestID: item.requestID, position: item.position, actual: actual)
                rows.append((stored, prediction))
            }
        }
        guard problems.isEmpty else { throw APIError.validation(problems) }
        let inserted = try await store.insert(
            rows.map { FeedbackStore.Actual(requestID: $0.0.requestID, position: $0.0.position, actual: $0.0.actual) })
        let lateCutoff = Date().addingTimeInterval(-lateAfter.inSeconds)
        // A batch may name one instance twice: only its first item was stored, the rest are duplicates.
        var answered = Set<FeedbackStore.Key>()
        for (item, prediction) in rows {
            let key = FeedbackStore.Key(requestID: item.requestID, position: item.position)
            if !inserted.contains(key) || !answered.insert(key).inserted {
                results.append(
                    Self.result(
                        item, status: "duplicate", detail: "this instance already has ground truth; it was kept"))
            } else if prediction.loggedAt < lateCutoff {
                results.append(
                    Self.result(
                        item, status: "late", detail: "recorded; the prediction is older than FEEDBACK_LATE_AFTER",
                        version: prediction.version))
            } else {
                results.append(Self.result(item, status: "recorded", version: prediction.version))
            }
        }
        if single, let only = results.first {
            let status: HTTPResponse.Status =
                switch only["status"]?.stringValue {
                case "unknown": .notFound
                case "duplicate": .conflict
                default: .created
                }
            if status == .notFound || status == .conflict {
                throw APIError(status, "\(only["request_id"]?.stringValue ?? ""): \(only["detail"]?.stringValue ?? "")")
            }
            return try JSONResponse.make(JSONValue.object(only), status: status)
        }
        let counts = Dictionary(grouping: results) { $0["status"]?.stringValue ?? "" }.mapValues {
            JSONValue.number(Double($0.count))
        }
        return try JSONResponse.make(
            JSONValue.object([
                "recorded": counts["recorded"] ?? .number(0), "late": counts["late"] ?? .number(0),
                "duplicate": counts["duplicate"] ?? .number(0), "unknown": counts["unknown"] ?? .number(0),
                "results": .array(results.map(JSONValue.object)),
            ]))
    }

    static func result(_ item: Item, status: String, detail: String? = nil, version: String? = nil) -> [String:
        JSONValue]
    {
        var result: [String: JSONValue] = [
            "request_id": .string(item.requestID), "position": .number(Double(item.position)),
            "status": .string(status),
        ]
        if let detail { result["detail"] = .string(detail) }
        if let version { result["model_version"] = .string(version) }
        if let id = item.id {
            result["id"] = .string(id)
            if status == "unknown" { result["request_id"] = nil }
        }
        return result
    }

    /// Replaces business ids with the request id and position of the newest
    /// prediction that carried each; one no prediction carried stays unknown.
    private func resolveIDs(_ items: [Item]) async throws -> [Item] {
        let ids = Set(items.compactMap(\.id))
        guard !ids.isEmpty else { return items }
        guard let idField else {
            throw APIError.validation([
                FieldProblem(field: "id", problem: "needs PREDICTION_ID_FIELD set on serving; use request_id")
            ])
        }
        let found = try await Self.lookingTwice(ids) { try await store.predictions(ofIDs: $0, field: idField) }
        return items.map { item in
            guard let id = item.id else { return item }
            var resolved = item
            // An id no prediction carried keeps a request id that matches nothing: answered unknown.
            (resolved.requestID, resolved.position) = found[id] ?? (Self.unresolved + id, 0)
            return resolved
        }
    }

    /// The request id an unresolved business id is given (it matches no logged request).
    static let unresolved = "id:"

    /// Looks `keys` up, and those not found once more after `logDelay`:
    /// predictions reach the log within ~50 ms of their answer, so ground
    /// truth sent right after one is not called unknown too early.
    private static func lookingTwice<Value>(
        _ keys: Set<String>, _ lookup: (Set<String>) async throws -> [String: Value]
    ) async throws -> [String: Value] {
        guard !keys.isEmpty else { return [:] }
        var found = try await lookup(keys)
        let missing = keys.subtracting(found.keys)
        if !missing.isEmpty {
            try await Task.sleep(for: logDelay)
            found.merge(try await lookup(missing)) { $1 }
        }
        return found
    }

    /// Why an actual value does not fit the model that made the prediction.
    struct Mismatch: Error {
        let problem: String
    }

    /// The actual value as stored: a JSON number for a regression, the class
    /// label's string for a classifier (so monitoring's SQL casts it safely).
    private func canonical(_ actual: JSONValue, version: String) async throws -> Result<JSONValue, Mismatch> {
        let classes = try await monitor.version(version)?.artifact.classes
        switch (actual, classes) {
        case (.number(let value), nil) where value.isFinite: return .success(.number(value))
        case (.string(let text), nil):
            guard let value = NumberParser.parse(text), value.isFinite else {
                return .failure(
                    Mismatch(problem: "must be a number (the model predicts a value), got \"\(text.prefix(40))\""))
            }
            return .success(.number(value))
        case (.string(let label), let classes?):
            guard classes.contains(label) else {
                return .failure(
                    Mismatch(
                        problem:
                            "\"\(label.prefix(40))\" is not a class of \(version) (\(classes.joined(separator: ", ")))")
                )
            }
            return .success(.string(label))
        case (.number(let value), let classes?):
            let label = value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
            guard classes.contains(label) else {
                return .failure(
                    Mismatch(problem: "must be one of the classes of \(version) (\(classes.joined(separator: ", ")))"))
            }
            return .success(.string(label))
        default: return .failure(Mismatch(problem: "must be a number or a class label"))
        }
    }
}
