import ServiceKit
import Synchronization

/// `conveyor_deployed_model_info{model,version} 1`: one series per live model, the series of a
/// model no longer live removed.
final class DeployedModelGauges: Sendable {
    private let gauges = Mutex<[String: InfoGauge]>([:])

    /// Shows `deployed`: each model's live version.
    func set(_ deployed: [(model: String, version: String)]) {
        let names = Set(deployed.map(\.model))
        let (current, gone) = gauges.withLock { gauges in
            let gone = gauges.filter { !names.contains($0.key) }.map(\.value)
            gauges = gauges.filter { names.contains($0.key) }
            for (model, _) in deployed where gauges[model] == nil {
                gauges[model] = InfoGauge(label: "conveyor_deployed_model_info")
            }
            return (gauges, gone)
        }
        for gauge in gone { gauge.set(nil) }
        for (model, version) in deployed { current[model]?.set([("model", model), ("version", version)]) }
    }
}
