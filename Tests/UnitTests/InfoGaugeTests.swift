import Prometheus
import ServiceKit
import Testing

@Suite("InfoGauge: one series, its labels the value")
struct InfoGaugeTests {
    static func exposition(_ registry: PrometheusCollectorRegistry) -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    @Test("a new version replaces the old series; nil removes it; the same labels keep it")
    func replacesTheSeries() {
        let registry = PrometheusCollectorRegistry()
        let info = InfoGauge(label: "conveyor_live_model_info", factory: PrometheusMetricsFactory(registry: registry))
        #expect(!Self.exposition(registry).contains("conveyor_live_model_info{"))
        info.set([("model", "m"), ("version", "v1")])
        #expect(Self.exposition(registry).contains(#"conveyor_live_model_info{model="m",version="v1"} 1"#))
        info.set([("model", "m"), ("version", "v2")])
        let swapped = Self.exposition(registry)
        #expect(swapped.contains(#"conveyor_live_model_info{model="m",version="v2"} 1"#))
        #expect(!swapped.contains(#"version="v1""#), "the old version's series is gone:\n\(swapped)")
        info.set([("model", "m"), ("version", "v2")])
        #expect(Self.exposition(registry).contains(#"version="v2"} 1"#))
        info.set(nil)
        #expect(!Self.exposition(registry).contains("conveyor_live_model_info{"))
    }
}
