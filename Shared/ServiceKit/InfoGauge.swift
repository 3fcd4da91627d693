import Metrics
import Synchronization

/// A Prometheus info metric: one series at 1 whose labels carry the value
/// (`conveyor_live_model_info{model="…",version="…"} 1`). Setting new labels
/// removes the old series, so a scrape never shows two live versions.
public final class InfoGauge: Sendable {
    private let label: String
    private let factory: any MetricsFactory
    private let current = Mutex<(labels: [(String, String)], gauge: Gauge)?>(nil)

    /// `factory`: the process's metrics system unless a test passes its own.
    public init(label: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.label = label
        self.factory = factory
    }

    /// Shows `labels` (nil: no series at all, e.g. nothing deployed yet).
    public func set(_ labels: [(String, String)]?) {
        current.withLock { current in
            if let current, let labels, current.labels.elementsEqual(labels, by: ==) { return }
            current?.gauge.destroy()
            current = labels.map { labels in
                let gauge = Gauge(label: label, dimensions: labels, factory: factory)
                gauge.record(1)
                return (labels, gauge)
            }
        }
    }
}
