import Foundation
import JSON
import Testing

/// Issue 34 through the whole loop on a real trio: a merge whose data lives on a (loopback)
/// HTTP server, pinned by hash, with the repository's own pytest suite as a gate; the run's
/// lineage and test report on `GET /runs/{id}`; a second merge of the same data downloading
/// nothing; a pull request whose test fails reported on GitHub (status and comment) and
/// never trained.
@Suite("Data by URL and the repository's tests, merged and previewed", .serialized)
struct DataAndTestsLoopTests {
    static let passingTests = """
        import csv, os

        def test_columns():
            with open(os.environ["CONVEYOR_TRAIN_FILE"]) as f:
                assert "temp_max" in next(csv.reader(f))
        """

    /// conveyor.yaml's data line pointing at `url`, the CSV gone from git, and `tests:` with pytest.
    static func pinData(_ repo: URL, url: String, sha256: String, tests: String) throws {
        let manifest = repo.appendingPathComponent("conveyor.yaml")
        var text = try String(contentsOf: manifest, encoding: .utf8)
        text = text.replacingOccurrences(
            of: "  path: data/seattle-weather.csv\n", with: "  path: {url: \"\(url)\", sha256: \(sha256)}\n")
        if !text.contains("\ntests:") {
            text += "tests: {command: [python3, -m, pytest, -q, tests/], requirements: requirements-test.txt}\n"
        }
        try text.write(to: manifest, atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(at: repo.appendingPathComponent("data/seattle-weather.csv"))
        try FileManager.default.createDirectory(
            at: repo.appendingPathComponent("tests"), withIntermediateDirectories: true)
        try tests.write(to: repo.appendingPathComponent("tests/test_model.py"), atomically: true, encoding: .utf8)
        try "pytest==8.3.4\n".write(
            to: repo.appendingPathComponent("requirements-test.txt"), atomically: true, encoding: .utf8)
    }

    @Test(
        "merged: fetched, verified, tested, trained, recorded; merged again: no download; a failing test's PR is told")
    func wholeLoop() async throws {
        let files = try await DataFetchTests.FileServer(files: [:])
        let trio = try await Trio()
        do {
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(1, timeout: 60)
            let csv = Array(
                try Data(contentsOf: trio.modelRepository.appendingPathComponent("data/seattle-weather.csv")))
            await files.hits.put("seattle.csv", csv)
            let sha256 = DataFetchTests.sha256(csv)
            let url = "\(files.url)/files/seattle.csv"

            try trio.mergePullRequest(title: "Data by URL, tested") { repo in
                try Self.pinData(repo, url: url, sha256: sha256, tests: Self.passingTests)
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(2, timeout: 120)
            let run = try await TrainerTests.finishedRun(trio, pr: 2)
            #expect(run["status"]?.stringValue == "succeeded", "\(run)")
            let data = try #require(run["data_files"]?.arrayValue?.first, "\(run)")
            #expect(data["key"]?.stringValue == "data.path" && data["url"]?.stringValue == url)
            #expect(data["sha256"]?.stringValue == sha256 && data["bytes"]?.integerValue == Int64(csv.count))
            #expect(data["downloaded"]?.boolValue == true)
            #expect(run["tests"]?["passed"]?.integerValue == 1 && run["tests"]?["failed"]?.integerValue == 0)
            #expect(run["timings"]?["data"] != nil && run["timings"]?["tests"] != nil, "\(run["timings"] ?? .null)")

            // The same bytes again: from the cache.
            try trio.mergePullRequest(title: "Same data, looser gate") { repo in
                let manifest = repo.appendingPathComponent("conveyor.yaml")
                let text = try String(contentsOf: manifest, encoding: .utf8)
                try text.replacingOccurrences(of: "rmse: {max: 5.0}", with: "rmse: {max: 6.0}").write(
                    to: manifest, atomically: true, encoding: .utf8)
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(3, timeout: 120)
            let again = try await TrainerTests.finishedRun(trio, pr: 3)
            #expect(again["data_files"]?.arrayValue?.first?["downloaded"]?.boolValue == false, "\(again)")
            #expect(await files.hits.count("seattle.csv") == 1, "one download for two runs")

            // A pull request whose test fails: never trained, told on the PR.
            let head = try trio.pushPullRequest(number: 4, title: "A failing test") { repo in
                try """
                def test_no_nulls():
                    assert False, "temp_min has 3 nulls"
                """.write(to: repo.appendingPathComponent("tests/test_model.py"), atomically: true, encoding: .utf8)
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let statuses = try await trio.finalStatuses(head, timeout: 120)
            #expect(statuses.first?["state"]?.stringValue == "failure", "\(statuses)")
            #expect(
                statuses.first?["description"]?.stringValue == "tests failed: tests/test_model.py::test_no_nulls",
                "\(statuses)")
            let comment = try await eventually(timeout: 20, "the preview comment") {
                try await trio.comments(4).first?["body"]?.stringValue
            }
            #expect(comment.contains("| failing test | message |"), "\(comment)")
            #expect(comment.contains("| `tests/test_model.py::test_no_nulls` |") && comment.contains("3 nulls"))
            #expect(comment.contains("**Data** data.path: \(url)"), "\(comment)")
            let preview = try #require(try await trio.previewRuns(4).first)
            #expect(preview["status"]?.stringValue == "failed")
            #expect(
                preview["tests"]?["failures"]?.arrayValue?.first?["name"]?.stringValue
                    == "tests/test_model.py::test_no_nulls")
            #expect(preview["reason"]?.stringValue?.hasPrefix("tests: tests failed") == true, "\(preview)")
            #expect(preview["log"]?.stringValue?.contains("trained ") == false, "nothing trained")
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        _ = await trio.stop()
    }
}
