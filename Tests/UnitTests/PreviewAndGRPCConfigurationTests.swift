import Foundation
import ServiceKit
import Testing

@testable import ServingService
@testable import TrainerService

@Suite("Settings for gRPC and PR previews")
struct PreviewAndGRPCConfigurationTests {
    static let serving = ["DATABASE_URL": "postgresql://x@localhost/x", "ARTIFACTS_DIR": "/tmp"]
    static let trainer = serving.merging(["GITHUB_REPOSITORY": "acme/model"]) { $1 }

    @Test("GRPC_PORT: 8081 by default, a port, 0 for any, off for none; anything else names it")
    func grpcPort() throws {
        func port(_ value: String?) throws -> Int? {
            var environment = Self.serving
            environment["GRPC_PORT"] = value
            return try ServingConfiguration.fromEnvironment(EnvironmentReader(environment)).grpcPort
        }
        #expect(try port(nil) == 8081)
        #expect(try port("9001") == 9001)
        #expect(try port("0") == 0)
        #expect(try port("OFF") == nil)
        for bad in ["70000", "grpc", "-1"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try port(bad) }
        }
    }

    @Test("previews are on by default, forks and notifications off; a trailing slash is dropped from URLs")
    func previews() throws {
        let defaults = try TrainerConfiguration.fromEnvironment(EnvironmentReader(Self.trainer))
        #expect(defaults.previews && !defaults.previewForks && !defaults.notifyPreviews)
        #expect(defaults.githubAPIURL == "https://api.github.com" && defaults.dashboardURL == nil)
        #expect(defaults.githubRepository == "acme/model")
        let set = try TrainerConfiguration.fromEnvironment(
            EnvironmentReader(
                Self.trainer.merging([
                    "PREVIEWS": "no", "PREVIEW_FORKS": "1", "NOTIFY_PREVIEWS": "true",
                    "GITHUB_API_URL": "http://127.0.0.1:9090/", "DASHBOARD_URL": "https://dash.example//",
                ]) { $1 }))
        #expect(!set.previews && set.previewForks && set.notifyPreviews)
        #expect(set.githubAPIURL == "http://127.0.0.1:9090" && set.dashboardURL == "https://dash.example")
        do {
            _ = try TrainerConfiguration.fromEnvironment(
                EnvironmentReader(Self.trainer.merging(["PREVIEW_FORKS": "maybe"]) { $1 }))
            Issue.record("PREVIEW_FORKS=maybe was accepted")
        } catch let error as ConfigurationError {
            #expect(error.variable == "PREVIEW_FORKS")
        }
    }

    @Test("a preview's announcement says what the preview found, not that it deployed")
    func announcement() {
        var announcement = RunAnnouncement(
            run: 4, status: .succeeded, prNumber: 9, prTitle: "More trees", commit: "0123456789abcdef",
            version: "preview-4-pr9-0123456", reason: nil)
        announcement.isPreview = true
        #expect(announcement.text == "Conveyor previewed PR #9 \"More trees\" at 0123456 (run 4): every gate passed")
        announcement = RunAnnouncement(
            run: 5, status: .rejected, prNumber: 9, prTitle: nil, commit: "0123456789abcdef", version: nil,
            reason: "gate failed: rmse.max", isPreview: true)
        #expect(announcement.text.hasSuffix("rejected: gate failed: rmse.max"))
        #expect(!announcement.text.contains("deployed"))
    }
}
