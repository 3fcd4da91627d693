import Foundation

/// A node checked and compiled: what it computes and what it produces.
struct CompiledNode {
    let kernel: Kernel
    let outputTypes: [ValueType]
}
