import Foundation
import Hummingbird
import JSON
import Migrations
import Postgres
import Registry
import ServiceKit

/// `GET /runs`, `GET /runs/{id}`, `POST /runs` (admin: retrain a PR).
struct RunController: APIController {
    let database: PostgresClient
    let store: TrainingStore
    let admin: AdminToken
    /// The largest `POST /runs` body.
    static let maxBody = 64 * 1024

    /// A run id in a path.
    static let runID = APIRoute.positiveID
    /// `?kind=` of `GET /runs`.
    static let kindSchema: JSONValue = .object([
        "type": "string", "enum": .array(RunKind.allCases.map { .string($0.rawValue) }),
    ])

    var endpoints: DocumentedRoutes {
        let routes = DocumentedRoutes()
        let (database, store, admin) = (database, store, admin)
        routes.on(
            APIRoute(
                .get, "/runs", "Training runs, newest first (`kind` filters: merge, retrain or preview).",
                query: PageLimit.query.merging(["kind": Self.kindSchema]) { $1 })
        ) { request, _ in
            let limit = try PageLimit.of(request)
            var kind: RunKind?
            if let text = request.uri.queryParameters["kind"].map(String.init) {
                guard let given = RunKind(rawValue: text) else {
                    throw APIError.validation([
                        FieldProblem(field: "kind", problem: "must be merge, retrain or preview")
                    ])
                }
                kind = given
            }
            return JSONResponse.raw(Data(try await store.runsJSON(kind: kind, limit: limit).utf8))
        }
        routes.on(
            APIRoute(
                .get, "/runs/:id",
                "One run: params, metrics, gate results, stage timings, log (live while it runs) and kept files.",
                parameters: ["id": Self.runID])
        ) { _, context in
            let id = try Self.id(context)
            guard let run = try await store.runJSON(id: id) else {
                throw APIError(.notFound, "run \(id) does not exist")
            }
            return JSONResponse.raw(Data(run.utf8))
        }
        routes.on(
            APIRoute(
                .get, "/runs/:id/files/:name", "A file the run's training command wrote beside its model.",
                parameters: ["id": Self.runID, "name": RunFileDownload.nameSchema])
        ) { _, context in
            let id = try Self.id(context)
            let name = try RunFileDownload.name(try context.parameters.require("name"))
            guard let content = try await store.file(run: id, name: name) else {
                throw APIError(.notFound, "run \(id) kept no file named \"\(name)\"")
            }
            return RunFileDownload.response(content, name: name)
        }
        routes.on(
            APIRoute(
                .post, "/runs",
                "Retrain a merged pull request (of `repository`, owner/name, when several are followed).",
                requestBody: APIRoute.json(
                    .object([
                        "type": .string("object"), "required": .array([.string("pr_number")]),
                        "properties": .object([
                            "pr_number": .object([
                                "type": .string("integer"), "minimum": .number(1), "maximum": .number(2_147_483_647),
                            ]),
                            "repository": .object([
                                "type": .string("string"), "enum": .array(store.repositories.map { .string($0.key) }),
                            ]),
                        ]),
                    ])), success: .accepted, admin: true)
        ) { request, _ in
            try admin.authorize(request)
            let body = try await request.collectBody(upTo: Self.maxBody)
            guard let json = try? JSONValue.parse(body.readableBytesView) else {
                throw APIError(.badRequest, "the body must be JSON like {\"pr_number\": 12}")
            }
            guard let number = json["pr_number"]?.integerValue, (1...2_147_483_647).contains(number) else {
                throw APIError.validation([
                    FieldProblem(
                        field: "pr_number", problem: "is required and must be a whole number from 1 to 2147483647")
                ])
            }
            let repository = try Self.repository(json["repository"], store: store)
            let id: Int64
            switch try await store.queueRetrain(prNumber: number, repository: repository) {
            case .queued(let queued): id = queued
            case .duplicate(let existing):
                throw APIError(
                    .conflict, "run \(existing) of the same commit is already queued or running; cancel it first")
            case .noSuchPullRequest:
                throw APIError(
                    .notFound, "no pull request #\(number) merged into the tracked branch of \(repository.key)")
            }
            try await PullRequestsNotice(retrain: id).send(on: database)
            return try JSONResponse.make(["id": id], status: .accepted)
        }
        routes.on(
            APIRoute(
                .post, "/runs/:id/cancel",
                "Cancel a queued run, or stop a running one (its processes are killed; recorded as cancelled).",
                success: .accepted,
                parameters: ["id": Self.runID], admin: true)
        ) { request, context in
            try admin.authorize(request)
            let id = try Self.id(context)
            guard let status = try await store.requestCancel(run: id) else {
                throw APIError(.notFound, "run \(id) does not exist")
            }
            guard !status.isFinished || status == .cancelled else {
                throw APIError(.conflict, "run \(id) has already ended (\(status.rawValue))")
            }
            return try JSONResponse.make(
                ["id": "\(id)", "status": status == .running ? "cancelling" : status.rawValue], status: .accepted)
        }
        return routes
    }

    private static func id(_ context: AppRequestContext) throws -> Int64 {
        guard let id = Int64(try context.parameters.require("id")) else {
            throw APIError.validation([FieldProblem(field: "id", problem: "must be an integer run id")])
        }
        return id
    }

    /// The followed repository `value` names (`owner/name` or its URL); without one, the only
    /// repository followed (a 422 naming them when there are several).
    static func repository(_ value: JSONValue?, store: TrainingStore) throws -> TrackedRepository {
        let keys = store.repositories.map { "\"\($0.key)\"" }.joined(separator: ", ")
        guard let value else {
            guard store.repositories.count == 1 else {
                throw APIError.validation([
                    FieldProblem(field: "repository", problem: "is required: several are followed (\(keys))")
                ])
            }
            return store.repositories[0]
        }
        guard let key = value.stringValue, let found = store.repositories.first(where: { $0.key == key }) else {
            throw APIError.validation([
                FieldProblem(field: "repository", problem: "must name a followed repository (\(keys))")
            ])
        }
        return found
    }
}
