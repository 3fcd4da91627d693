import Foundation
import Learning
import Testing

@testable import TrainerService

/// conveyor.yaml's `data:` by URL and hash and its `tests:`, checked with the field named;
/// DVC's config and JUnit reports read as their tools write them.
@Suite("Data and tests in the manifest")
struct DataManifestTests {
    static func manifest(data: String, tests: String = "") -> String {
        """
        name: m
        task: regression
        data: \(data)
        target: y
        features: [{name: a, type: numeric}]
        model: {algorithm: linear_regression}
        \(tests)
        gates: {}
        """
    }

    static let hash = String(repeating: "ab", count: 32)

    @Test("a file is a path (string or mapping) or a url with its sha256; the rest is refused naming the field")
    func dataFiles() throws {
        let pinned = try Manifest.parse(
            Self.manifest(
                data:
                    "{train: {url: \"https://d.example/t.csv\", sha256: \(Self.hash)}, test: {path: data/test.csv}}"))
        #expect(pinned.data.train == Manifest.DataFile(url: "https://d.example/t.csv", sha256: Self.hash))
        #expect(pinned.data.test == Manifest.DataFile(path: "data/test.csv"))
        #expect(
            try Manifest.parse(Self.manifest(data: "{path: d.csv, split: {test_fraction: 0.2}}")).data.path?.path
                == "d.csv")
        let refusals: [(String, String, String)] = [
            ("{train: {url: \"https://d.example/t.csv\"}, test: t.csv}", "data.train.sha256", "is required with url"),
            ("{train: {url: \"https://d.example/t.csv\", sha256: abc}, test: t.csv}", "data.train.sha256", "64 hex"),
            (
                "{train: {url: \"ftp://d.example/t.csv\", sha256: \(Self.hash)}, test: t.csv}", "data.train.url",
                "https, http, s3 or file"
            ),
            ("{train: {url: \"s3://bucket\", sha256: \(Self.hash)}, test: t.csv}", "data.train.url", "s3://bucket/key"),
            (
                "{train: {url: \"https://u:p@d.example/t\", sha256: \(Self.hash)}, test: t.csv}", "data.train.url",
                "credentials"
            ),
            (
                "{train: {path: a.csv, url: \"https://d.example/t\", sha256: \(Self.hash)}, test: t.csv}", "data.train",
                "not both"
            ),
            ("{train: {path: a.csv, sha256: \(Self.hash)}, test: t.csv}", "data.train.sha256", "goes with url"),
            ("{train: {}, test: t.csv}", "data.train", "a url and its sha256"),
            ("{train: ../outside.csv, test: t.csv}", "data.train", "inside the repository"),
            ("{train: /etc/passwd, test: t.csv}", "data.train", "inside the repository"),
        ]
        for (data, key, problem) in refusals {
            #expect(throws: Manifest.Problem.self, "\(data)") { try Manifest.parse(Self.manifest(data: data)) }
            do {
                _ = try Manifest.parse(Self.manifest(data: data))
            } catch let error as Manifest.Problem {
                #expect(error.key == key && error.problem.contains(problem), "\(data): \(error)")
            }
        }
    }

    @Test("tests: a command, a timeout that parses (default 10m), requirements inside the repository")
    func testsSpec() throws {
        let parsed = try Manifest.parse(
            Self.manifest(data: "{train: t.csv, test: s.csv}", tests: "tests: {command: [python3, -m, pytest]}"))
        #expect(parsed.tests?.command == ["python3", "-m", "pytest"] && parsed.tests?.resolvedTimeout == .seconds(600))
        for (tests, key) in [
            ("tests: {command: []}", "tests.command"), ("tests: {command: [x], timeout: soon}", "tests.timeout"),
            ("tests: {command: [x], requirements: ../r.txt}", "tests.requirements"),
        ] {
            do {
                _ = try Manifest.parse(Self.manifest(data: "{train: t.csv, test: s.csv}", tests: tests))
                Issue.record("\(tests) was accepted")
            } catch let error as Manifest.Problem {
                #expect(error.key == key, "\(error)")
            }
        }
    }

    @Test(
        "DVC's config: the default remote, quoted sections, relative local paths from .dvc/, unsupported schemes named")
    func dvcConfig() throws {
        let repo = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dvc-config-\(UUID().uuidString.prefix(6))")
        defer { try? FileManager.default.removeItem(at: repo) }
        try FileManager.default.createDirectory(
            at: repo.appendingPathComponent(".dvc"), withIntermediateDirectories: true)
        func remote(_ config: String) throws -> DVCRemote {
            try config.write(to: repo.appendingPathComponent(".dvc/config"), atomically: true, encoding: .utf8)
            return try DVCRemote.defaultRemote(in: repo)
        }
        // As dvc 3.67 writes it (Tests/Fixtures/dvc_repo.py's report).
        let local = try remote("[core]\n    remote = storage\n['remote \"storage\"']\n    url = ../remote\n")
        #expect(local.url == "file://" + repo.appendingPathComponent("remote").standardizedFileURL.path)
        let s3 = try remote(
            "[core]\n    remote = s\n['remote \"s\"']\n    url = s3://b/p\n    endpointurl = http://evil.example\n")
        #expect(s3.url == "s3://b/p")
        #expect(
            s3.objectURL(
                DVCPointer(md5: "c3c6bc2ae8ece4bd2510dca21225c041", size: 12, legacyLayout: false, recordedIn: "x"))
                == "s3://b/p/files/md5/c3/c6bc2ae8ece4bd2510dca21225c041")
        #expect(
            s3.objectURL(
                DVCPointer(md5: "c3c6bc2ae8ece4bd2510dca21225c041", size: 12, legacyLayout: true, recordedIn: "x"))
                == "s3://b/p/c3/c6bc2ae8ece4bd2510dca21225c041", "DVC 2's layout")
        #expect(throws: DVCRemote.Problem.self) {
            try remote("[core]\n    remote = g\n['remote \"g\"']\n    url = gdrive://x\n")
        }
        do {
            _ = try remote("[core]\n    remote = g\n['remote \"g\"']\n    url = ssh://host/x\n")
        } catch {
            #expect("\(error)".contains("ssh://") && "\(error)".contains("\"g\""), "\(error)")
        }
        #expect(throws: DVCRemote.Problem.self) { try remote("[core]\n    autostage = true\n") }
    }

    @Test("a JUnit report: counts, pytest's names back to files, the first failures with their messages")
    func junit() throws {
        let xml = """
            <?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1" failures="1"
            skipped="1" tests="4" time="0.512"><testcase classname="tests.test_schema" name="test_ok" time="0.001"/>
            <testcase classname="tests.test_schema.TestNulls" name="test_no_nulls" time="0.002"><failure
            message="AssertionError: column a has 3 nulls&#10;assert 3 == 0">trace</failure></testcase>
            <testcase classname="tests.test_schema" name="test_setup" time="0.001"><error message="fixture 'db' not found">e</error></testcase>
            <testcase classname="tests.test_schema" name="test_later" time="0"><skipped message="later"/></testcase>
            </testsuite></testsuites>
            """
        let report = try #require(JUnitReport.parse(Data(xml.utf8)))
        #expect((report.passed, report.failed, report.errors, report.skipped) == (1, 1, 1, 1))
        #expect(report.seconds == 0.512)
        #expect(
            report.failures == [
                .init(
                    name: "tests/test_schema.py::TestNulls::test_no_nulls",
                    message: "AssertionError: column a has 3 nulls"),
                .init(name: "tests/test_schema.py::test_setup", message: "fixture 'db' not found"),
            ])
        #expect(JUnitReport.parse(Data("not xml".utf8)) == nil)
    }

    @Test("a preview whose tests failed: a failure status naming the test, a comment with the failures")
    func previewOfFailedTests() {
        let tests = RepositoryTestReport(
            passed: 2, failed: 2, errors: 0, skipped: 0, seconds: 1.5,
            failures: [
                .init(name: "tests/test_x.py::test_y", message: "a | b <i>"),
                .init(name: "tests/test_x.py::test_z[`x`](https://evil.example)", message: "m"),
            ], hasReport: true, exitStatus: 1)
        let report = PreviewReport(
            run: 9, pr: 4, commit: "0123456789", status: .failed,
            reason: "tests: tests failed: tests/test_x.py::test_y",
            outcome: nil, live: nil, tests: tests,
            data: [
                DataLineage(
                    key: "data.train", source: "url", path: nil, url: "https://d.example/t.csv", sha256: Self.hash,
                    md5: nil, bytes: 10, downloaded: true)
            ])
        #expect(
            report.state == "failure" && report.description == "tests failed: tests/test_x.py::test_y and 1 more",
            "\(report.description)")
        let markdown = report.markdown(dashboardRunURL: nil)
        #expect(markdown.contains("**Tests:** 2 passed, 2 failed, 0 errors, 0 skipped in 1.5 s"))
        #expect(markdown.contains("| `tests/test_x.py::test_y` | a \\| b &lt;i&gt; |"), "\(markdown)")
        #expect(
            markdown.contains("| `tests/test_x.py::test_z['x'](https://evil.example)` | m |"),
            "a backtick cannot end the code span: \(markdown)")
        #expect(markdown.contains("**Data** data.train: https://d.example/t.csv (url, 10 bytes, sha256 abababababab…)"))
    }
}
