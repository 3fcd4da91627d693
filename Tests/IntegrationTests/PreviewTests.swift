import Foundation
import JSON
import Registry
import Testing

/// PR previews on a real trio: open pull requests (the sandbox's
/// `refs/pull/N/head`) are trained and gated, never deployed, and reported
/// on the pull request through the sandbox's statuses and comments API.
@Suite("PR previews", .serialized)
struct PreviewTests {
    static let dashboard = "http://dashboard.example"

    /// Runs `scenario` on a trio with PR #1 deployed; the logs go with any failure.
    static func withDeployedTrio(_ scenario: (Trio) async throws -> Void) async throws {
        let trio = try await Trio(trainerSettings: ["DASHBOARD_URL": dashboard])
        do {
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(1, timeout: 60)
            try await scenario(trio)
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        _ = await trio.stop()
    }

    @Test(
        "an open PR gets pending then success and one comment; a push edits it; a 502 twice is retried; never deployed")
    func previewReported() async throws {
        try await Self.withDeployedTrio { trio in
            let head = try await Trio.exampleRepo("open", trio.modelRepository)
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let statuses = try await trio.finalStatuses(head)
            #expect(statuses.map { $0["state"]?.stringValue } == ["success", "pending"], "\(statuses)")
            let success = statuses[0]
            #expect(success["context"]?.stringValue == "conveyor/model")
            let description = success["description"]?.stringValue ?? ""
            #expect(
                description.hasPrefix("rmse ") && description.contains("vs live")
                    && description.contains("all gates passed"))
            // The sandbox keeps the SHA-256 of the bearer token: echo -n test-github-token | sha256sum.
            #expect(
                success["token_sha256"]?.stringValue
                    == "7719a957715f930559ec7a4990436485f15c2385f7619b55cee1db025e2a99ed", "the token goes as a bearer")
            let runs = try await trio.previewRuns(2)
            let run = try #require(runs.first)
            #expect(run["status"]?.stringValue == "succeeded")
            #expect(success["target_url"]?.stringValue == "\(Self.dashboard)/runs/\(run["id"]?.integerValue ?? 0)")
            let comments = try await eventually(timeout: 10, "the preview comment") {
                let comments = try await trio.comments(2)
                return comments.isEmpty ? nil : comments
            }
            #expect(comments.count == 1)
            let body = comments[0]["body"]?.stringValue ?? ""
            #expect(body.contains("<!-- conveyor-preview -->") && body.contains("every gate passed"), "\(body)")
            #expect(body.contains("| rmse |") && body.contains("| no_regression | pass |"), "\(body)")
            #expect(body.contains("`\(head.prefix(7))`"))

            // Never deployed: PR #1 still serves, and no version was made of the preview.
            let (_, live) = try await trio.get("\(trio.servingURL)/")
            #expect(live["pull_request"]?["number"]?.integerValue == 1)
            #expect(run["model_version"]?.stringValue?.hasPrefix("preview-") == true)
            let (_, versions) = try await trio.get("\(trio.servingURL)/deployments")
            #expect(versions.arrayValue?.count == 1, "\(versions)")

            // A push: the first write answers 502 twice (retried), the same comment is edited.
            let (queued, _) = try await trio.post(
                "\(trio.sandboxURL)/_sandbox/write_failures", body: #"{"statuses": [502, 502]}"#)
            #expect(queued == 200)
            let pushed = try await Trio.exampleRepo("push", trio.modelRepository, "2")
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let second = try await trio.finalStatuses(pushed)
            #expect(second.map { $0["state"]?.stringValue } == ["success", "pending"], "\(second)")
            let edited = try await eventually(timeout: 10, "the comment edited") {
                let comments = try await trio.comments(2)
                return comments.first?["body"]?.stringValue?.contains(String(pushed.prefix(7))) == true ? comments : nil
            }
            #expect(edited.count == 1, "one comment, edited: \(edited)")
            #expect(edited[0]["edits"]?.integerValue == 1)
            let newest = try #require(try await trio.previewRuns(2).first)
            #expect(newest["github_report"]?["status_pending"]?["attempts"]?.integerValue == 3, "\(newest)")
            #expect(newest["github_report"]?["status_pending"]?["delivered"]?.boolValue == true)
            #expect(newest["log"]?.stringValue?.contains("commit status pending delivered (attempt 3)") == true)
            let (listed, all) = try await trio.get("\(trio.trainerURL)/runs?kind=preview")
            #expect(listed == 200 && all.arrayValue?.count == 2)
            let (badKind, problem) = try await trio.get("\(trio.trainerURL)/runs?kind=nightly")
            #expect(badKind == 422 && problem["error"]?["problems"]?.arrayValue?.first?["field"]?.stringValue == "kind")
        }
    }

    /// Opens PR #2 whose training command sleeps for two minutes, and waits until its preview runs.
    static func startSlowPreview(_ trio: Trio) async throws -> String {
        let slow = try trio.pushPullRequest(number: 2, title: "Slow training") { repo in
            let manifest = repo.appendingPathComponent("conveyor.yaml")
            var text = try String(contentsOf: manifest, encoding: .utf8)
            text = text.replacingOccurrences(
                of: "model:\n  algorithm: linear_regression",
                with: "model: {format: onnx}\ntrain: {command: [sleep, \"120\"], output: model.onnx}")
            try text.write(to: manifest, atomically: true, encoding: .utf8)
        }
        _ = try await trio.get("\(trio.vcsURL)/checkout")
        _ = try await eventually(timeout: 30, "the slow preview running") {
            try await trio.previewRuns(2).first?["status"]?.stringValue == "running" ? true : nil
        }
        return slow
    }

    @Test("a merge is trained and served while a slow preview is still training: previews have their own lane")
    func mergeNeverWaitsBehindAPreview() async throws {
        try await Self.withDeployedTrio { trio in
            _ = try await Self.startSlowPreview(trio)
            _ = try await Trio.exampleRepo("merge-next", trio.modelRepository)
            let merged = ContinuousClock.now
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(3, timeout: 30)
            let served = ContinuousClock.now - merged
            // The preview sleeps 120 s: served well before it could end shows the merge did not
            // wait behind it (a tighter bound only measured the machine: 16.1 s in a full run).
            #expect(served < .seconds(60), "merge → served took \(served)")
            print("merge to serving with a slow preview training: \(served)")
            // The preview was neither waited for nor cancelled.
            #expect(try await trio.previewRuns(2).first?["status"]?.stringValue == "running")
        }
    }

    @Test("a newer push cancels a running preview; a worse model fails its gate; a broken manifest errors; forks wait")
    func previewVerdicts() async throws {
        try await Self.withDeployedTrio { trio in
            // A preview whose own training command sleeps: still running when the next push lands.
            let slow = try await Self.startSlowPreview(trio)
            let started = Date()
            let worse = try trio.pushPullRequest(number: 2, title: "Drop temp_min") { repo in
                try Self.writeWorseManifest(repo)
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let cancelled = try await eventually(timeout: 30, "the slow preview cancelled") {
                let run = try await trio.previewRuns(2).first { $0["merge_commit_sha"]?.stringValue == slow }
                return run?["status"]?.stringValue == "cancelled" ? run : nil
            }
            #expect(Date().timeIntervalSince(started) < 20, "the sleeping command was stopped, not waited for")
            #expect(cancelled["reason"]?.stringValue?.hasPrefix("superseded by a newer push") == true)
            let rejected = try await trio.finalStatuses(worse)
            #expect(rejected.first?["state"]?.stringValue == "failure")
            #expect(rejected.first?["description"]?.stringValue?.contains("failed: rmse.max") == true, "\(rejected)")

            // A manifest that does not parse: an error status naming the reason.
            let broken = try trio.pushPullRequest(number: 3, title: "Broken manifest") { repo in
                try "name: [unclosed\n".write(
                    to: repo.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8)
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let errored = try await trio.finalStatuses(broken)
            #expect(errored.first?["state"]?.stringValue == "error")
            #expect(errored.first?["description"]?.stringValue?.hasPrefix("error: ") == true, "\(errored)")

            // A fork's pull request: nothing is trained (PREVIEW_FORKS is off).
            let fork = try trio.pushPullRequest(number: 4, title: "From a fork", fork: "mallory/example-model") {
                repo in
                try "# fork\n".write(to: repo.appendingPathComponent("NOTES.md"), atomically: true, encoding: .utf8)
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            try await Task.sleep(for: .seconds(3))
            #expect(try await trio.previewRuns(4).isEmpty)
            #expect(try await trio.statuses(fork).isEmpty)
            // Still PR #1 live after all of it.
            let (_, live) = try await trio.get("\(trio.servingURL)/")
            #expect(live["pull_request"]?["number"]?.integerValue == 1)
        }
    }

    @Test("merging a previewed PR deploys the preview's model without training; a merge of another tree trains")
    func mergeReusesPreview() async throws {
        try await Self.withDeployedTrio { trio in
            let head = try await Trio.exampleRepo("open", trio.modelRepository)
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            #expect(try await trio.finalStatuses(head).first?["state"]?.stringValue == "success")
            let preview = try #require(try await trio.previewRuns(2).first)
            let previewVersion = try #require(preview["model_version"]?.stringValue)

            let merged = Date()
            try await Trio.exampleRepo("merge-open", trio.modelRepository, "2")
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let served = try await trio.waitForServedPR(2, timeout: 30)
            let elapsed = Date().timeIntervalSince(merged)
            #expect(served["version"]?.stringValue == previewVersion, "the preview's model is what serves")
            let (_, merges) = try await trio.get("\(trio.trainerURL)/runs?kind=merge")
            let merge = try #require(merges.arrayValue?.first)
            let (_, detail) = try await trio.get("\(trio.trainerURL)/runs/\(merge["id"]?.integerValue ?? 0)")
            #expect(detail["reused_run"]?.integerValue == preview["id"]?.integerValue, "\(detail)")
            #expect(detail["artifact_sha256"] == nil || detail["artifact_sha256"] == .null)
            #expect(detail["timings"]?["train"] == nil, "no training: \(detail["timings"] ?? .null)")
            #expect(
                detail["reason"]?.stringValue == "deployed the model of preview run \(preview["id"]?.integerValue ?? 0)"
            )
            let (_, deployments) = try await trio.get("\(trio.servingURL)/deployments")
            #expect(deployments.arrayValue?.first?["version"]?.stringValue == previewVersion)
            let database = try await trio.database()
            let hashes = try await database.query(
                """
                SELECT mv.artifact_sha256 = r.artifact_sha256 AS same FROM model_versions mv
                JOIN training_runs r ON r.model_version = mv.version AND r.kind = \(RunKind.preview) WHERE mv.version = \(previewVersion)
                """)
            #expect(try hashes.first?.decode("same", as: Bool.self) == true, "the deployed artifact is the preview's")
            print("merge of a previewed PR to serving: \(String(format: "%.3f", elapsed)) s")

            // PR #3 is previewed, then main moves on before it is merged: the merge's tree is new.
            let third = try trio.pushPullRequest(number: 3, title: "Retrain") { repo in
                try "# notes\n".write(to: repo.appendingPathComponent("NOTES.md"), atomically: true, encoding: .utf8)
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            #expect(try await trio.finalStatuses(third).first?["state"]?.stringValue == "success")
            try trio.commitOnMain("A hotfix straight on main") { repo in
                try "# hotfix\n".write(to: repo.appendingPathComponent("HOTFIX.md"), atomically: true, encoding: .utf8)
            }
            try await Trio.exampleRepo("merge-open", trio.modelRepository, "3")
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(3, timeout: 60)
            let (_, latest) = try await trio.get("\(trio.trainerURL)/runs?kind=merge")
            let retrained = try #require(latest.arrayValue?.first)
            let (_, retrainedDetail) = try await trio.get(
                "\(trio.trainerURL)/runs/\(retrained["id"]?.integerValue ?? 0)")
            #expect(retrainedDetail["reused_run"] == .null, "a different tree is trained again")
            #expect(retrainedDetail["timings"]?["train"]?.doubleValue != nil)
            await database.shutdown()
        }
    }

    /// The first example manifest without temp_min: an rmse far above the gate's 5.0.
    static func writeWorseManifest(_ repo: URL) throws {
        let manifest = repo.appendingPathComponent("conveyor.yaml")
        let original = Trio.repositoryRoot.appendingPathComponent("deploy/example-model-history/pr1-conveyor.yaml")
        let text = try String(contentsOf: original, encoding: .utf8)
            .replacingOccurrences(
                of: "  - {name: temp_min, type: numeric, min: -30, max: 45}\n",
                with: "  - {name: precipitation, type: numeric}\n")
        try text.write(to: manifest, atomically: true, encoding: .utf8)
    }
}
