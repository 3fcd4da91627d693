import Foundation
import JSON
import Logging
import Postgres

/// Reports preview runs on their pull request: a `conveyor/model` commit
/// status on the head commit (`pending` when the preview starts, then its
/// verdict, linking the run's dashboard page when `DASHBOARD_URL` is set)
/// and one comment per pull request, created once and edited on every later
/// push (its id is kept in `preview_comments`). A write that still fails
/// after its retries is logged and recorded with the run (`github_report`
/// and a log line); it never fails the preview.
struct PreviewReporter: Sendable {
    let writer: GitHubWriter
    /// `owner/name`.
    let repository: String
    /// Serving's public address, for links to the run's page.
    let dashboardURL: String?
    let store: TrainingStore
    let logger: Logger

    static let context = "conveyor/model"

    private var runURL: (Int64) -> String? {
        { run in dashboardURL.map { "\($0)/runs/\(run)" } }
    }

    /// `pending` on the head commit; what happened goes into the running run's `log`.
    func started(run: Int64, commit: String, log: RunLog) async {
        await status(
            run: run, commit: commit, state: "pending", description: "training and gating this commit…", log: log)
    }

    /// The verdict as a commit status, then the pull request's comment.
    func finished(_ report: PreviewReport) async {
        await status(run: report.run, commit: report.commit, state: report.state, description: report.description)
        await comment(report)
    }

    private func status(run: Int64, commit: String, state: String, description: String, log: RunLog? = nil) async {
        var body: [String: JSONValue] = [
            "state": .string(state), "description": .string(description), "context": .string(Self.context),
        ]
        if let url = runURL(run) { body["target_url"] = .string(url) }
        let outcome = await writer.send(.post, "/repos/\(repository)/statuses/\(commit)", body: .object(body))
        await record(run: run, key: "status_\(state)", outcome: outcome, what: "commit status \(state)", log: log)
    }

    private func comment(_ report: PreviewReport) async {
        let body: JSONValue = .object(["body": .string(report.markdown(dashboardRunURL: runURL(report.run)))])
        let existing = try? await store.previewComment(repository: repository, pr: report.pr)
        var outcome: GitHubWriter.Outcome
        if let existing {
            outcome = await writer.send(.patch, "/repos/\(repository)/issues/comments/\(existing)", body: body)
            // Someone deleted it: make a new one.
            if outcome.response?.status == .notFound {
                outcome = await writer.send(.post, "/repos/\(repository)/issues/\(report.pr)/comments", body: body)
            }
        } else {
            outcome = await writer.send(.post, "/repos/\(repository)/issues/\(report.pr)/comments", body: body)
        }
        if outcome.succeeded, let id = outcome.response.flatMap({ try? JSONValue.parse($0.body) })?["id"]?.integerValue,
            id != existing
        {
            do {
                try await store.setPreviewComment(repository: repository, pr: report.pr, commentID: id)
            } catch {
                logger.error("could not remember the preview comment", metadata: ["error": "\(error)"])
            }
        }
        await record(
            run: report.run, key: "comment", outcome: outcome, what: existing == nil ? "comment" : "comment edit")
    }

    /// Stores the write's result with the run, and its line in the run's log (the running
    /// run's own `log` while it runs: the stored one is rewritten from it); a failure is logged too.
    private func record(run: Int64, key: String, outcome: GitHubWriter.Outcome, what: String, log: RunLog? = nil)
        async
    {
        let line =
            outcome.succeeded
            ? "GitHub: \(what) delivered (attempt \(outcome.attempts))"
            : "GitHub: \(what) not delivered after \(outcome.attempts) attempts: \(outcome.error ?? "unknown error")"
        if !outcome.succeeded {
            logger.error(
                "preview report not delivered",
                metadata: ["run": "\(run)", "what": "\(what)", "error": "\(outcome.error ?? "")"])
        }
        let entry: JSONValue = .object([
            key: .object([
                "delivered": .bool(outcome.succeeded), "attempts": .number(Double(outcome.attempts)),
                "error": outcome.error.map { .string($0) } ?? .null,
            ])
        ])
        log?.append(line)
        do {
            try await store.recordGitHubReport(
                run: run, report: try PostgresJSON(encoding: entry), line: log == nil ? line : nil)
        } catch {
            logger.error("could not record the preview report", metadata: ["run": "\(run)", "error": "\(error)"])
        }
    }
}
