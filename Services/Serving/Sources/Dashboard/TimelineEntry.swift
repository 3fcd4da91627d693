import Foundation
import Mustache
import Registry

/// A training run as a line of the timeline and the runs page: what happened
/// to the pull request's model (deployed, rejected, failed, rolled back…) and why.
struct TimelineEntry: Sendable {
    let runID: Int64
    let prNumber: Int64
    let prTitle: String
    let prAuthor: String
    let prURL: String?
    let commit: String
    let state: String
    let stateClass: String
    let version: String?
    let href: String
    let reason: String
    let created: String
    let duration: String
    let stages: String
    let isLive: Bool

    init(_ run: DashboardStore.Run, liveVersion: String?, repository: GitHubLinks) {
        runID = run.id
        prNumber = run.prNumber
        prTitle = run.prTitle ?? ""
        prAuthor = run.prAuthor ?? ""
        prURL = repository.pullRequest(run.prNumber)
        commit = String(run.commit.prefix(7))
        let isPreview = run.kind == .preview
        // A preview's model is never a deployed version (a merge of the same tree may deploy it later).
        version = isPreview ? nil : run.version
        isLive = version != nil && version == liveVersion
        let state: String
        switch run.status {
        case .succeeded where isPreview: state = "preview passed"
        case _ where isPreview: state = "preview " + run.status.rawValue
        case .succeeded where run.markedBadReason != nil: state = "rolled back"
        case .succeeded: state = isLive ? "live" : "deployed"
        default: state = run.status.rawValue
        }
        self.state = state
        stateClass = DashboardFormat.stateClass(
            isPreview ? (run.status == .succeeded ? "preview" : run.status.rawValue) : state)
        href = version.map { "/versions/\($0)" } ?? "/runs/\(run.id)"
        // A version's rollback is its merge's story: a preview that trained the same model says what it found.
        reason = (isPreview ? nil : run.markedBadReason) ?? run.reason ?? ""
        created = DashboardFormat.date(run.createdAt)
        if let started = run.startedAt, let finished = run.finishedAt {
            duration = DashboardFormat.seconds(finished.timeIntervalSince(started))
        } else {
            duration = ""
        }
        stages = run.timings.sorted { $0.key < $1.key }.map { "\($0.key) \(DashboardFormat.seconds($0.value))" }
            .joined(separator: " · ")
    }
}

/// Template lookups by name without reflection: swift-mustache reads a plain
/// struct through `Mirror` on every `{{name}}`, which made a 200-row runs page
/// take 96 ms in a release build (`Benchmarks/dashboard.sh`); rows of the
/// timeline and the runs page answer directly.
extension TimelineEntry: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "runID": runID
        case "prNumber": prNumber
        case "prTitle": prTitle
        case "prAuthor": prAuthor
        case "prURL": prURL as Any?
        case "commit": commit
        case "state": state
        case "stateClass": stateClass
        case "version": version as Any?
        case "href": href
        case "reason": reason
        case "created": created
        case "duration": duration
        case "stages": stages
        case "isLive": isLive
        default: nil
        }
    }
}
