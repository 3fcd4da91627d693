import Foundation
import Metrics

/// What every service says about itself on `/metrics`:
/// `conveyor_build_info{service,version,commit} 1` and
/// `process_start_time_seconds` (Unix time), so a dashboard shows which
/// build runs where and an alert can tell a restart from a slow counter.
public enum BuildInfo {
    /// Conveyor's release; bump with each tagged release.
    public static let version = "0.10.0"

    /// The commit the binary was built from: the image's build argument
    /// `COMMIT` (kept as `CONVEYOR_COMMIT`), or what `deploy/local.sh` sets.
    public static var commit: String {
        let value = ProcessInfo.processInfo.environment["CONVEYOR_COMMIT"] ?? ""
        // A label value from the environment: keep it short and plain.
        let plain = value.prefix(40).filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
        return plain.isEmpty ? "unknown" : String(plain)
    }

    /// Records both series; call once after the metrics system is bootstrapped.
    public static func publish(service: String, startedAt: Date = Date()) {
        Gauge(
            label: "conveyor_build_info", dimensions: [("service", service), ("version", version), ("commit", commit)]
        ).record(1)
        Gauge(label: "process_start_time_seconds").record(startedAt.timeIntervalSince1970)
    }
}
