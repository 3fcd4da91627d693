import Artifacts
import Foundation
import Hummingbird
import Postgres
import Registry
import ServiceKit

/// The pages serving shows a person in a browser, rendered from Postgres and
/// the artifacts volume with Mustache templates. JSON clients keep the JSON
/// routes; these pages read what those routes (and the trainer) record.
struct Dashboard: Sendable {
    let store: DashboardStore
    let models: ModelStore
    let artifacts: VersionArtifacts
    let links: GitHubLinks
    let pages: PageRenderer
    /// `PREDICT_AUTH=token`: the predict page asks for a prediction token.
    var tokenRequired = false

    static let nav = [
        PageRenderer.NavLink("Home", "/"), PageRenderer.NavLink("Models", "/models"),
        PageRenderer.NavLink("Runs", "/runs"),
        PageRenderer.NavLink("Predict", "/predict"), PageRenderer.NavLink("API", "/docs"),
    ]

    init(database: PostgresClient, models: ModelStore, artifacts storage: ArtifactStorage, githubRepository: String?) {
        store = DashboardStore(database: database)
        self.models = models
        artifacts = VersionArtifacts(storage: storage)
        links = GitHubLinks(repository: githubRepository)
        // Fixed templates: a parse error is a programming error that every page test would show.
        pages = try! PageRenderer(
            service: "serving", nav: Self.nav,
            templates: [
                "home": HomePage.template, "version": VersionPage.template, "run": RunPage.template,
                "runs": RunsPage.template, "compare": ComparePage.template, "predict": PredictPage.template,
                "chart": SVGChart.template, "heatmap": VersionDetails.heatMapTemplate,
                "features": VersionDetails.featuresTemplate, "pullRequest": PullRequestReference.template,
                "models": ModelsPage.template,
            ])
    }

    /// The home page of `model` (from `?model=`), or of the only (first) model.
    func home(model name: String? = nil) async throws -> Response {
        let shown =
            try name.map { name in
                guard let model = models.model(named: name) else {
                    throw APIError(
                        .notFound, "no model named \"\(name)\" is served here",
                        problems: [FieldProblem(field: "model", problem: "unknown")])
                }
                return model
            } ?? models.shown
        // One model's page when asked for by name or when several are served; otherwise everything.
        let scope = name != nil || models.loadedCount > 1 ? shown?.name : nil
        let page = try await HomePage.build(store: store, model: shown, links: links, scope: scope)
        let title = shown.map { "\($0.artifact.name) \($0.deployment.version)" } ?? "no model yet"
        return HTMLResponse.make(pages.render("home", title: title, page: page))
    }

    func version(_ name: String) async throws -> Response {
        guard let version = try await store.version(name) else {
            throw APIError(
                .notFound, "no version \(name)", problems: [FieldProblem(field: "version", problem: "unknown")])
        }
        let page = try await VersionPage.build(
            version, store: store, artifacts: artifacts, liveVersion: models.shown?.deployment.version, links: links)
        return HTMLResponse.make(pages.render("version", title: "version \(name)", page: page))
    }

    func compare(a: String?, b: String?) async throws -> Response {
        var problems: [FieldProblem] = []
        if (a ?? "").isEmpty { problems.append(FieldProblem(field: "a", problem: "is required: a version")) }
        if (b ?? "").isEmpty { problems.append(FieldProblem(field: "b", problem: "is required: a version")) }
        guard problems.isEmpty, let a, let b else { throw APIError.validation(problems) }
        async let left = store.version(a)
        async let right = store.version(b)
        let (versionA, versionB) = (try await left, try await right)
        let unknown = [(a, versionA, "a"), (b, versionB, "b")].filter { $0.1 == nil }
        guard let versionA, let versionB else {
            throw APIError(
                .notFound, "unknown version",
                problems: unknown.map { FieldProblem(field: $0.2, problem: "no version \($0.0)") })
        }
        let page = await ComparePage.build(versionA, versionB, artifacts: artifacts)
        return HTMLResponse.make(pages.render("compare", title: "\(a) vs \(b)", page: page))
    }

    func runs(status: String?, before: Int64?, model: String? = nil) async throws -> Response {
        let limit = 200
        let runs = try await store.runs(limit: limit, status: status, before: before, model: model)
        let live = (model.flatMap(models.model(named:)) ?? models.shown)?.deployment.version
        let scoped = model.map { "model=" + ModelsPage.queryValue($0) }
        let filters =
            [RunsPage.Filter(href: "/runs" + (scoped.map { "?" + $0 } ?? ""), label: "all", active: status == nil)]
            + RunsPage.statuses.map {
                RunsPage.Filter(
                    href: "/runs?status=\($0)" + (scoped.map { "&" + $0 } ?? ""), label: $0, active: $0 == status)
            }
        let page = RunsPage(
            runs: runs.map { TimelineEntry($0, liveVersion: live, repository: links) }, filters: filters,
            status: status, nextBefore: runs.count == limit ? runs.last?.id : nil)
        return HTMLResponse.make(pages.render("runs", title: "runs", page: page))
    }

    func run(_ id: Int64) async throws -> Response {
        guard let run = try await store.run(id: id) else {
            throw APIError(.notFound, "no run \(id)", problems: [FieldProblem(field: "id", problem: "unknown")])
        }
        let page = RunPage(run, liveVersion: models.shown?.deployment.version, links: links)
        return HTMLResponse.make(pages.render("run", title: "run \(id)", page: page))
    }

    /// Every live model, as `GET /models` lists them.
    func modelList() async throws -> Response {
        let page = ModelsPage(live: try await DeploymentRecord.live(store.database), store: models, links: links)
        return HTMLResponse.make(pages.render("models", title: "models", page: page))
    }

    /// The predict form of `model` (from `?model=`), or of the only (first) model.
    func predict(model name: String? = nil) throws -> Response {
        if let name, models.model(named: name) == nil {
            throw APIError(
                .notFound, "no model named \"\(name)\" is served here",
                problems: [FieldProblem(field: "model", problem: "unknown")])
        }
        guard let model = name.flatMap(models.model(named:)) ?? models.shown else {
            return HTMLResponse.make(
                pages.render(
                    "predict", title: "predict", page: ["modelName": "no model is deployed yet", "fields": []]))
        }
        return HTMLResponse.make(
            pages.render("predict", title: "predict", page: PredictPage(model, tokenRequired: tokenRequired)))
    }
}
