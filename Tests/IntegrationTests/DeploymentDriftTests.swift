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
    /// read and the port it would listen on. Throws if a value is invalid.
    static func configuration(of component: String, values: [String: String]) throws -> (names: Set<String>, port: Int)
    {
        let recorder = EnvironmentRecorder()
        let env = EnvironmentReader(values, recorder: recorder)
        let port: Int
        switch component {
        case "vcs": port = try VCSConfiguration.fromEnvironment(env).port
        case "trainer": port = try TrainerConfiguration.fromEnvironment(env).port
        case "serving": port = try ServingConfiguration.fromEnvironment(env).port
        case "github-sandbox": port = try SandboxConfiguration.fromEnvironment(env).port
        default: throw HarnessError("unknown component \(component)")
        }
        return (recorder.recorded, port)
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
        while let range = result.range(of: #"\$\{[A-Z_]+(:-([^}]*))?\}"#, options: .regularExpression) {
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
            let environment = (service["environment"] as? [String: Any] ?? [:]).mapValues { Self.resolve("\($0)") }
            let (accepted, port) = try Self.configuration(of: executable, values: environment)
            let unknown = Set(environment.keys).subtracting(accepted)
            #expect(unknown.isEmpty, "\(name) sets \(unknown.sorted()) which \(executable) does not read")
            for mapping in service["ports"] as? [String] ?? [] {
                #expect(
                    mapping.split(separator: ":").last.map(String.init) == String(port),
                    "\(name) publishes \(mapping) but listens on \(port)")
            }
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
        let namePattern = try Regex(#"- name: ([A-Z_]+)"#)
        let portPattern = try Regex(#"containerPort: (\d+)"#)
        for component in ["vcs", "trainer", "serving"] {
            let template = try String(
                contentsOf: templates.appendingPathComponent("\(component).yaml"), encoding: .utf8)
            #expect(template.contains("command: [\"\(component)\"]"))
            let used = Set(
                (template + helpers).matches(of: namePattern).compactMap { $0.output[1].substring.map(String.init) })
            let (accepted, defaultPort) = try Self.configuration(of: component, values: Self.validEnvironment)
            #expect(
                used.subtracting(accepted).isEmpty, "\(component) chart sets \(used.subtracting(accepted).sorted())")
            let ports = template.matches(of: portPattern).compactMap { $0.output[1].substring.flatMap { Int($0) } }
            #expect(ports == [defaultPort], "\(component) containerPort \(ports) vs default \(defaultPort)")
            #expect((values[component] as? [String: Any])?["port"] as? Int == defaultPort)
            #expect(template.contains("include \"conveyor.securityContext\""), "\(component) runs non-root")
        }
    }
}
