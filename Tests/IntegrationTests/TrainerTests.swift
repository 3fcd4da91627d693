import Foundation
import HTTPClient
import JSON
import Postgres
import Registry
import Subprocess
import Testing

@Suite("trainer: gates, bad repositories, replicas and leases", .serialized)
struct TrainerTests {
    /// Waits for the run of pull request `number` to end, and returns it.
    static func finishedRun(_ trio: Trio, pr number: Int64) async throws -> JSONValue {
        try await eventually(timeout: 60, "the run of PR #\(number) to finish") {
            let (_, runs) = try await trio.get("\(trio.trainerURL)/runs")
            guard let run = runs.arrayValue?.first(where: { $0["pr_number"]?.integerValue == number }),
                let status = run["status"]?.stringValue, !["queued", "running"].contains(status),
                let id = run["id"]?.integerValue
            else { return nil }
            return try await trio.get("\(trio.trainerURL)/runs/\(id)").1
        }
    }

    static func count(_ trio: Trio, _ sql: String) async throws -> Int {
        let database = PostgresClient(url: trio.databaseURL, maxConnections: 1)
        defer { Task { await database.shutdown() } }
        return try await database.query(PostgresQuery(unsafeSQL: sql)).first?.decode("n", as: Int.self) ?? -1
    }

    @Test("a worse model is rejected by its gates and the old version keeps serving")
    func worseModelRejected() async throws {
        let trio = try await Trio()
        do {
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(1)
            try await Trio.exampleRepo("merge-next", trio.modelRepository)
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let served = try await trio.waitForServedPR(2)
            try await Trio.exampleRepo("bad-pr", trio.modelRepository)
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let run = try await Self.finishedRun(trio, pr: 3)
            #expect(run["status"]?.stringValue == "rejected")
            #expect(run["reason"]?.stringValue?.contains("gate failed") == true)
            let failedGates = run["gates"]?.arrayValue?.filter { $0["passed"]?.boolValue == false }.compactMap {
                $0["gate"]?.stringValue
            }
            #expect(failedGates?.contains("no_regression") == true)
            let (_, now) = try await trio.get("\(trio.servingURL)/")
            #expect(now["version"] == served["version"])
            #expect(try await Self.count(trio, "SELECT count(*)::int AS n FROM deployments") == 2)

            // An admin can retrain a merged PR; without the token the route refuses.
            let (refused, _) = try await trio.post("\(trio.trainerURL)/runs", body: "{\"pr_number\": 2}")
            #expect(refused == 401)
            let (accepted, queued) = try await trio.post(
                "\(trio.trainerURL)/runs", body: "{\"pr_number\": 2}",
                headers: [("Authorization", "Bearer \(Trio.adminToken)")])
            #expect(accepted == 202)
            let retrainID = try #require(queued["id"]?.integerValue)
            let retrained = try await eventually(timeout: 30, "the retrain to finish") {
                let (_, run) = try await trio.get("\(trio.trainerURL)/runs/\(retrainID)")
                return ["succeeded", "rejected", "failed"].contains(run["status"]?.stringValue ?? "") ? run : nil
            }
            #expect(retrained["status"]?.stringValue == "succeeded")
            #expect(retrained["pr_number"]?.integerValue == 2)
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        _ = await trio.stop()
    }

    @Test("each broken repository ends as a failed run with its reason, and the current model keeps serving")
    func brokenRepositoriesFail() async throws {
        let trio = try await Trio()
        let cases: [(title: String, expected: String, change: (URL) throws -> Void)] = [
            (
                "no manifest", "conveyor.yaml not found",
                { try FileManager.default.removeItem(at: $0.appendingPathComponent("conveyor.yaml")) }
            ),
            (
                "broken YAML", "conveyor.yaml",
                {
                    try "name: [unclosed\n".write(
                        to: $0.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8)
                }
            ),
            ("unknown algorithm", "model.algorithm", { try Self.edit($0, "linear_regression", "quantum_forest") }),
            ("missing data file", "does not exist", { try Self.edit($0, "data/seattle-weather.csv", "data/nope.csv") }),
            (
                "data outside the repository", "outside the repository",
                { try Self.edit($0, "data/seattle-weather.csv", "../../../etc/passwd") }
            ),
            (
                "header mismatch", "has no column \"temp_min\"",
                {
                    try Self.edit(
                        $0, "name: temp_min,", "name: temp_minimum,", file: "data/seattle-weather.csv", header: true)
                }
            ),
            (
                "single-valued target", "single value",
                { url in
                    let rows = (0..<50).map { "2012-01-\($0 % 28 + 1),0.0,10.0,\($0 % 9),3.0,sun" }
                    try (["date,precipitation,temp_max,temp_min,wind,weather"] + rows).joined(separator: "\n")
                        .write(
                            to: url.appendingPathComponent("data/seattle-weather.csv"), atomically: true,
                            encoding: .utf8)
                }
            ),
        ]
        do {
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(1)
            for (offset, broken) in cases.enumerated() {
                let (_, before) = try await trio.get("\(trio.servingURL)/")
                let brokenPR = Int64(2 + 2 * offset)
                try trio.mergePullRequest(title: broken.title, change: broken.change)
                _ = try await trio.get("\(trio.vcsURL)/checkout")
                let run = try await Self.finishedRun(trio, pr: brokenPR)
                #expect(run["status"]?.stringValue == "failed", "\(broken.title)")
                let reason = run["reason"]?.stringValue ?? ""
                #expect(reason.contains(broken.expected), "\(broken.title): \(reason)")
                let (status, after) = try await trio.get("\(trio.servingURL)/")
                #expect(status == 200 && after["version"] == before["version"], "\(broken.title): serving changed")
                // Revert, so the next case starts from a good repository.
                try trio.mergePullRequest(title: "revert \(broken.title)") { url in
                    let result = try ChildProcess.run(["git", "-C", url.path, "checkout", "HEAD~1", "--", "."])
                    if result.status != 0 { throw HarnessError(result.stderr) }
                }
                _ = try await trio.get("\(trio.vcsURL)/checkout")
                _ = try await Self.finishedRun(trio, pr: brokenPR + 1)
                // The revert deploys; the next case compares against it once serving has swapped to it.
                _ = try await trio.waitForServedPR(brokenPR + 1)
            }
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        _ = await trio.stop()
    }

    /// Replaces text in the manifest (or, with `header`, in the first line of a data file).
    static func edit(_ repo: URL, _ old: String, _ new: String, file: String = "conveyor.yaml", header: Bool = false)
        throws
    {
        let url = repo.appendingPathComponent(file)
        var text = try String(contentsOf: url, encoding: .utf8)
        if header {
            var lines = text.components(separatedBy: "\n")
            lines[0] = lines[0].replacingOccurrences(of: "temp_min", with: "temp_minimum")
            text = lines.joined(separator: "\n")
        } else {
            guard text.contains(old) else { throw HarnessError("\(file) does not contain \(old)") }
            text = text.replacingOccurrences(of: old, with: new)
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test("two trainers and one merge make exactly one run and one deployment")
    func replicasTrainOnce() async throws {
        let trio = try await Trio(pollInterval: "1s")
        var second: LaunchedProcess?
        do {
            second = try trio.launchTrainer("trainer-2")
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(1)
            try await Task.sleep(for: .seconds(2.5))  // both trainers poll at least twice more
            #expect(try await Self.count(trio, "SELECT count(*)::int AS n FROM training_runs") == 1)
            #expect(try await Self.count(trio, "SELECT count(*)::int AS n FROM deployments") == 1)
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        #expect(second?.terminate() == 0)
        _ = await trio.stop()
    }

    @Test("a crashed trainer's run is taken over once its lease expires, and deployed once")
    func expiredLeaseTakenOver() async throws {
        let trio = try await Trio(pollInterval: "1s", trainerSettings: ["RUN_LEASE": "2s"])
        var replacement: LaunchedProcess?
        do {
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(1)
            #expect(trio.trainer.terminate() == 0)
            try await Trio.exampleRepo("merge-next", trio.modelRepository)
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            // What a trainer that crashed mid-run leaves behind: a running run with a lease nobody renews.
            let database = PostgresClient(url: trio.databaseURL, maxConnections: 1)
            try await database.query(
                """
                INSERT INTO training_runs (pr_number, merge_commit_sha, merged_at, status, reason, started_at,
                    lease_owner, lease_expires_at, attempts)
                SELECT number, merge_commit_sha, merged_at, \(RunStatus.running), 'merged', now(), 'crashed-trainer',
                    now() + interval '2 seconds', 1
                FROM pull_requests WHERE number = 2
                """)
            await database.shutdown()
            replacement = try trio.launchTrainer("trainer-replacement")
            let second = try await trio.waitForServedPR(2, timeout: 30)
            #expect(second["version"]?.stringValue?.hasSuffix("-a2") == true)
            #expect(try await Self.count(trio, "SELECT count(*)::int AS n FROM training_runs WHERE pr_number = 2") == 1)
            #expect(
                try await Self.count(
                    trio,
                    "SELECT count(*)::int AS n FROM training_runs WHERE pr_number = 2 AND attempts = 2 AND status = '\(RunStatus.succeeded.rawValue)'"
                )
                    == 1)
            #expect(try await Self.count(trio, "SELECT count(*)::int AS n FROM deployments") == 2)
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        #expect(replacement?.terminate() == 0)
        _ = await trio.stop()
    }
}
