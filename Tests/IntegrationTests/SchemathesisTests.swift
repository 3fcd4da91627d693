import Foundation
import Subprocess
import Testing

/// Schemathesis (PyPI, in the test venv) generates requests from each
/// service's own `/openapi.json` and checks every answer: no 5xx, statuses
/// and bodies as documented, invalid input refused, valid input accepted.
@Suite("schemathesis against every service's OpenAPI document", .serialized)
struct SchemathesisTests {
    /// The schemathesis CLI beside the test venv's python.
    static var cli: String? {
        guard let python = ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"] else { return nil }
        let path = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("schemathesis").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// Runs schemathesis with every check (a fixed seed, bounded examples) and returns its exit status and output.
    static func run(_ cli: String, _ url: String, _ extra: [String] = []) async throws -> (Int32, String) {
        let result = try await CommandRunner.output(
            [
                cli, "run", "\(url)/openapi.json", "--checks", "all", "--max-examples", "30", "--seed", "7",
                "--no-color", "--header", "Authorization: Bearer \(Trio.adminToken)",
            ] + extra)
        return (result.status, result.stdout + result.stderr)
    }

    /// The routes whose bodies depend on the model: `/predict`, `/feedback`, and the same under
    /// `/models/{name}/` and the v2 protocol's `infer`.
    static let perModelBodies = "^(/models/\\{name\\})?/(predict|feedback)$|^/v2/models/\\{name\\}/infer$"

    @Test("vcs, trainer and serving: zero failures with every check")
    func everyService() async throws {
        let cli = try #require(Self.cli, "schemathesis is installed in the test venv (deploy/local.sh test does it)")
        let trio = try await Trio()
        do {
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(1)
            let runs: [(String, String, [String])] = [
                ("vcs", trio.vcsURL, []),
                ("trainer", trio.trainerURL, []),
                ("serving", trio.servingURL, ["--exclude-path-regex", Self.perModelBodies]),
                // A text/csv body cannot be described by a schema (its header must name the
                // features, its cells be in range), feedback's actual must fit the model that
                // answered, and a named model's body is that model's (or tensors named after its
                // features), so only "valid input accepted" is left out here.
                (
                    "serving /predict, /feedback and named models' bodies", trio.servingURL,
                    ["--include-path-regex", Self.perModelBodies, "--exclude-checks", "positive_data_acceptance"]
                ),
            ]
            for (name, url, extra) in runs {
                let (status, output) = try await Self.run(cli, url, extra)
                let summary = output.split(separator: "\n").filter { $0.contains("generated") }.joined()
                print("schemathesis \(name): \(summary.trimmingCharacters(in: .whitespaces))")
                #expect(status == 0, "schemathesis \(name) failed:\n\(output.suffix(6000))")
                #expect(summary.contains("passed"), "\(name): \(output.suffix(2000))")
            }
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        _ = await trio.stop()
    }
}
