import Foundation
import ONNX

extension ONNXPredictor {
    /// Records the covers of the graph's tree ensemble: the training rows through each node,
    /// which path-dependent TreeSHAP weighs by and an ONNX file does not carry. Logs why not
    /// when the graph is not one Conveyor explains (explanations then answer 422 saying so).
    mutating func learnCovers(from data: Dataset, log: (String) -> Void) {
        let rows = (0..<data.count).map { index in (0..<data.width).map { data.columns[$0][index] } }
        do {
            let explanation = try ONNXTreeExplanation(self)
            covers = try explanation.covers(training: rows)
            log(
                "explanations: the \(explanation.graph.operatorName)'s \(explanation.trees.treeCount) trees, covers from \(rows.count) training rows"
            )
        } catch {
            let reason =
                switch error {
                case let error as ExplanationUnavailable: error.reason
                case let error as ONNXError: error.message
                default: "\(error)"
                }
            explanationUnavailable = reason
            log("explanations: not available (\(reason))")
        }
    }
}
