import ArgumentParser
import Foundation
import JSON
import ONNX

/// Times Conveyor's ONNX evaluator on a model and the rows `Benchmarks/onnx_models.py`
/// wrote: single-row calls (each row its own call, as a server answers) and one
/// 10,000-row batch. Prints one JSON line.
@main
struct ONNXBench: ParsableCommand {
    @Argument(help: "The .onnx file.") var model: String
    @Argument(help: "The rows: {\"inputs\": {name: {type, shape, data}}} as onnx_models.py writes them.")
    var rows: String
    @Option(help: "Passes over the single rows.") var passes = 5

    func run() throws {
        let start = ContinuousClock.now
        let graph = try ONNXModel(contentsOf: URL(fileURLWithPath: model))
        let loadSeconds = (ContinuousClock.now - start).seconds
        let json = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: rows)))
        var batch: [String: ONNXTensor] = [:]
        for (name, value) in json["inputs"]?.objectValue ?? [:] { batch[name] = try Self.tensor(value) }
        let count = batch.values.first?.shape.first ?? 0
        let singles = (0..<count).map { row in batch.mapValues { Self.row(row, of: $0) } }

        var sink = 0.0
        for feeds in singles.prefix(200) { sink += try Self.first(graph.evaluate(feeds)) }  // warm-up
        let single = ContinuousClock.now
        for _ in 0..<passes {
            for feeds in singles { sink += try Self.first(graph.evaluate(feeds)) }
        }
        let perRow = (ContinuousClock.now - single).seconds / Double(passes * count)
        let batchStart = ContinuousClock.now
        sink += try Self.first(graph.evaluate(batch))
        let batchSeconds = (ContinuousClock.now - batchStart).seconds
        print(
            #"{"load_s": \#(loadSeconds), "single_row_us": \#(perRow * 1e6), "batch_rows": \#(count), "batch_s": \#(batchSeconds), "checksum": \#(sink.isFinite ? 1 : 0)}"#
        )
    }

    static func first(_ values: [ONNXValue]) -> Double {
        switch values.last {
        case .tensor(let tensor): tensor.doubles.first ?? 0
        case .maps(_, let rows): Double(rows.first?.first ?? 0)
        case nil: 0
        }
    }

    /// Row `index` of a `[N, …]` tensor, as a `[1, …]` tensor.
    static func row(_ index: Int, of tensor: ONNXTensor) -> ONNXTensor {
        let width = tensor.shape.dropFirst().reduce(1, *)
        let range = (index * width)..<((index + 1) * width)
        let shape = [1] + tensor.shape.dropFirst()
        switch tensor.storage {
        case .float(let v): return ONNXTensor(floats: Array(v[range]), shape: shape)
        case .double(let v): return ONNXTensor(doubles: Array(v[range]), shape: shape)
        case .int64(let v): return ONNXTensor(int64s: Array(v[range]), shape: shape)
        case .string(let v): return ONNXTensor(strings: Array(v[range]), shape: shape)
        default: return tensor
        }
    }

    static func tensor(_ json: JSONValue) throws -> ONNXTensor {
        let shape = (json["shape"]?.arrayValue ?? []).compactMap { $0.integerValue.map(Int.init) }
        let data = json["data"]?.arrayValue ?? []
        switch json["type"]?.stringValue {
        case "float": return ONNXTensor(floats: data.map { Float($0.doubleValue ?? .nan) }, shape: shape)
        case "double": return ONNXTensor(doubles: data.map { $0.doubleValue ?? .nan }, shape: shape)
        case "int64": return ONNXTensor(int64s: data.map { $0.integerValue ?? 0 }, shape: shape)
        case "string": return ONNXTensor(strings: data.map { $0.stringValue ?? "" }, shape: shape)
        default: throw ONNXError("unknown input type")
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
