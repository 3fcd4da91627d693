import Foundation
import SandboxService
import ServiceKit
import ServingService
import Testing
import TrainerService
import VCSService
import Yams

/// The deployment files (compose, Dockerfile, Helm chart) may only use the
/// environment variables, ports and commands the executables really accept.
@Suite("Deployment files match the code")
struct DeploymentDriftTests {
    static let root = Trio.repositoryRoot

    /// Reads a component's configuration from `values`; returns the names it
    /// read and the ports it would listen on (HTTP first, then serving's gRPC).
    /// Throws if a value is invalid.
    static func configuration(of component: String, values: [String: String]) throws -> (
        names: Set<String>, ports: [Int]
    ) {
        let recorder = EnvironmentRecorder()
        let env = EnvironmentReader(values, recorder: recorder)
        let ports: [Int]
        switch component {
        case "vcs": ports = [try VCSConfiguration.fromEnvironment(env).port]
        case "trainer": ports = [try TrainerConfiguration.fromEnvironment(env).port]
        case "serving":
            let configuration = try ServingConfiguration.fromEnvironment(env)
            ports = [configuration.port] + (configuration.grpcPort.map { [$0] } ?? [])
        case "github-sandbox": ports = [try SandboxConfiguration.fromEnvironment(env).port]
        default: throw HarnessError("unknown component \(component)")
        }
        return (recorder.recorded, ports)
    }

    /// A complete, valid environment for reading every component's names.
    static let validEnvironment = [
        "DATABASE_URL": "postgresql://x@localhost/x", "ARTIFACTS_DIR": "/tmp", "GITHUB_REPOSITORY": "a/b",
        "SANDBOX_REPO_PATH": "/tmp", "MODEL_REPO_URL": "/tmp",
    ]

    static func products() throws -> Set<String> {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let pattern = try Regex(#"\.executable\(name: "([^"]+)""#)
        return Set(manifest.matches(of: pattern).compactMap { $0.output[1].substring.map(String.init) })
    }

    /// `${NAME:-default}` → default, `${NAME}` → "".
    static func resolve(_ value: String) -> String {
        var result = value
        while let range = result.range(of: #"\$\{[A-Z][A-Z0-9_]*(:-([^}]*))?\}"#, options: .regularExpression) {
            let token = String(result[range])
            let fallback = token.range(of: ":-").map { String(token[$0.upperBound...].dropLast()) } ?? ""
            result.replaceSubrange(range, with: fallback)
        }
        return result
    }

    @Test("docker-compose.yaml: every service's command, variable, value and port is accepted by its executable")
    func composeMatchesExecutables() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docker-compose.yaml"), encoding: .utf8)
        let compose = try #require(try Yams.load(yaml: text) as? [String: Any])
        let services = try #require(compose["services"] as? [String: [String: Any]])
        let products = try Self.products()
        var checked: Set<String> = []
        for (name, service) in services {
            guard let command = service["command"] as? [String], let executable = command.first,
                products.contains(executable)
            else { continue }
            checked.insert(executable)
            var environment = (service["environment"] as? [String: Any] ?? [:]).mapValues { Self.resolve("\($0)") }
            // Variables from `env_file` (the s3 profile's demo key pair) count like `environment`.
            for file in service["env_file"] as? [String] ?? [] {
                let text = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                    let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                    if parts.count == 2 { environment[parts[0], default: parts[1]] = parts[1] }
                }
            }
            let (accepted, ports) = try Self.configuration(of: executable, values: environment)
            let unknown = Set(environment.keys).subtracting(accepted)
            #expect(unknown.isEmpty, "\(name) sets \(unknown.sorted()) which \(executable) does not read")
            let published = (service["ports"] as? [String] ?? []).compactMap { $0.split(separator: ":").last }
            #expect(
                published.isEmpty || published.compactMap { Int($0) } == ports,
                "\(name) publishes \(published) but listens on \(ports)")
        }
        #expect(checked == products, "compose runs \(checked.sorted()), the package builds \(products.sorted())")
    }

    @Test("the Dockerfile builds and copies exactly the package's executables")
    func dockerfileMatchesProducts() throws {
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
        let loop = try #require(dockerfile.firstMatch(of: try Regex(#"for product in ([a-z\- ]+); do"#)))
        let copied = Set((loop.output[1].substring ?? "").split(separator: " ").map(String.init))
        #expect(copied == (try Self.products()))
        #expect(dockerfile.contains("USER 10001"), "the image runs as a non-root user")
        #expect(dockerfile.contains("COPY deploy/example-repo.sh"), "the demo's example-repo service needs the script")
    }

    @Test("the Helm chart's variables and container ports are the executables'")
    func helmMatchesExecutables() throws {
        let templates = Self.root.appendingPathComponent("deploy/helm/conveyor/templates")
        let helpers = try String(contentsOf: templates.appendingPathComponent("_helpers.tpl"), encoding: .utf8)
        let values = try #require(
            try Yams.load(
                yaml: String(
                    contentsOf: templates.deletingLastPathComponent().appendingPathComponent("values.yaml"),
                    encoding: .utf8))
                as? [String: Any])
        let namePattern = try Regex(#"- name: ([A-Z][A-Z0-9_]*)"#)
        let portPattern = try Regex(#"containerPort: (\d+)"#)
        for component in ["vcs", "trainer", "serving"] {
            let template = try String(
                contentsOf: templates.appendingPathComponent("\(component).yaml"), encoding: .utf8)
            #expect(template.contains("command: [\"\(component)\"]"))
            let used = Set(
                (template + helpers).matches(of: namePattern).compactMap { $0.output[1].substring.map(String.init) })
            let (accepted, defaultPorts) = try Self.configuration(of: component, values: Self.validEnvironment)
            #expect(
                used.subtracting(accepted).isEmpty, "\(component) chart sets \(used.subtracting(accepted).sorted())")
            let ports = template.matches(of: portPattern).compactMap { $0.output[1].substring.flatMap { Int($0) } }
            #expect(ports == defaultPorts, "\(component) containerPort \(ports) vs defaults \(defaultPorts)")
            let chartValues = values[component] as? [String: Any]
            #expect([chartValues?["port"], chartValues?["grpcPort"]].compactMap { $0 as? Int } == defaultPorts)
            #expect(template.contains("include \"conveyor.securityContext\""), "\(component) runs non-root")
        }
    }
}
