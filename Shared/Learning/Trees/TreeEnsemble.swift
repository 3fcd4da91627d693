import Foundation

/// Fitted trees in flat arrays, the form they are stored and evaluated in:
/// one node array for all trees (16-byte nodes, children adjacent), leaf
/// values in one table. Evaluating a row walks each tree from its root with
/// no allocation.
public struct TreeEnsemble: Sendable, Equatable {
    /// How the trees' leaf values combine into the model's raw outputs.
    public enum Combine: String, Codable, Sendable {
        /// Mean over the trees (random forests).
        case average
        /// `base` plus the sum over the trees (boosting).
        case sum
    }

    /// How raw outputs become predictions.
    public enum Link: String, Codable, Sendable {
        /// The raw output is the prediction (regression), or already a class probability (forest voting).
        case identity
        /// One raw score; `sigmoid(score)` is the probability of the second class.
        case sigmoid
        /// One raw score per class; softmax gives the probabilities.
        case softmax
    }

    public var nodes: [TreeNode]
    /// Per node: whether a missing input goes to the left child.
    public var missingLeft: [Bool]
    public var leafValues: [Double]
    /// Per node: the training rows that went through it when its tree grew (TreeSHAP's cover);
    /// empty in trees saved before explanations (`trees.bin` version 1).
    public var covers: [Double]
    /// Index in `nodes` of each tree's root.
    public var roots: [Int32]
    /// Values per leaf: `outputs`, or 1 when tree `t` feeds output `t % outputs` alone.
    public var leafWidth: Int
    public var outputs: Int
    public var base: [Double]
    public var combine: Combine
    public var link: Link

    public init(
        nodes: [TreeNode] = [], missingLeft: [Bool] = [], leafValues: [Double] = [], covers: [Double] = [],
        roots: [Int32] = [], leafWidth: Int, outputs: Int, base: [Double], combine: Combine, link: Link
    ) {
        self.nodes = nodes
        self.missingLeft = missingLeft
        self.leafValues = leafValues
        self.covers = covers
        self.roots = roots
        self.leafWidth = leafWidth
        self.outputs = outputs
        self.base = base
        self.combine = combine
        self.link = link
    }

    public var treeCount: Int { roots.count }

    /// Appends a grown tree, renumbering its nodes and leaves.
    mutating func append(_ tree: GrownTree) {
        let nodeOffset = Int32(nodes.count)
        let leafOffset = Int32(leafValues.count / leafWidth)
        roots.append(nodeOffset)
        for node in tree.nodes {
            var node = node
            node.child += node.feature >= 0 ? nodeOffset : leafOffset
            nodes.append(node)
        }
        missingLeft += tree.missingLeft
        leafValues += tree.leafValues
        covers += tree.covers
    }

    /// Keeps the first `count` trees (early stopping); trees are stored in order.
    mutating func truncate(toTrees count: Int) {
        guard count < roots.count else { return }
        let nodeEnd = Int(roots[count])
        let firstLeaf = nodes[nodeEnd...].filter { $0.feature < 0 }.map(\.child).min() ?? Int32(leafValues.count)
        roots.removeSubrange(count...)
        nodes.removeSubrange(nodeEnd...)
        missingLeft.removeSubrange(nodeEnd...)
        if covers.count > nodeEnd { covers.removeSubrange(nodeEnd...) }
        leafValues.removeSubrange((Int(firstLeaf) * leafWidth)...)
    }

    /// Raw outputs (before the link) for one encoded row.
    public func rawOutputs(_ row: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>) {
        for k in 0..<outputs { output[k] = 0 }
        nodes.withUnsafeBufferPointer { nodes in
            leafValues.withUnsafeBufferPointer { values in
                if row.contains(where: \.isNaN) {
                    walkWithMissing(row, nodes: nodes, values: values, into: output)
                } else {
                    walkInterleaved(row, nodes: nodes, values: values, into: output)
                }
            }
        }
        switch combine {
        case .average:
            let trees = Double(max(1, roots.count))
            for k in 0..<outputs { output[k] /= trees }
        case .sum:
            for k in 0..<outputs { output[k] += base[k] }
        }
    }

    @inline(__always)
    private func addLeaf(
        _ leaf: Int, tree: Int, values: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>
    ) {
        if leafWidth == outputs {
            for k in 0..<outputs { output[k] += values[leaf * leafWidth + k] }
        } else {
            output[tree % outputs] += values[leaf]
        }
    }

    /// Walks eight trees at a time in lockstep, so their node loads (mostly
    /// cache misses in a large forest) overlap instead of queueing; a leaf
    /// simply stays put until the slowest lane is done. Rows without missing
    /// values only. Measured 4× faster than one tree at a time on the
    /// 100-tree depth-12 forest (see Benchmarks/README.md).
    private func walkInterleaved(
        _ row: UnsafeBufferPointer<Double>, nodes: UnsafeBufferPointer<TreeNode>, values: UnsafeBufferPointer<Double>,
        into output: UnsafeMutableBufferPointer<Double>
    ) {
        let lanes = 8
        var tree = 0
        while tree < roots.count {
            let width = min(lanes, roots.count - tree)
            withUnsafeTemporaryAllocation(of: Int.self, capacity: lanes) { index in
                for lane in 0..<width { index[lane] = Int(roots[tree + lane]) }
                var active = true
                while active {
                    active = false
                    for lane in 0..<width {
                        let node = nodes[index[lane]]
                        if node.feature >= 0 {
                            active = true
                            index[lane] = Int(node.child) + (row[Int(node.feature)] <= node.threshold ? 0 : 1)
                        }
                    }
                }
                for lane in 0..<width {
                    addLeaf(Int(nodes[index[lane]].child), tree: tree + lane, values: values, into: output)
                }
            }
            tree += width
        }
    }

    private func walkWithMissing(
        _ row: UnsafeBufferPointer<Double>, nodes: UnsafeBufferPointer<TreeNode>, values: UnsafeBufferPointer<Double>,
        into output: UnsafeMutableBufferPointer<Double>
    ) {
        for (tree, root) in roots.enumerated() {
            var index = Int(root)
            while true {
                let node = nodes[index]
                if node.feature < 0 { break }
                let x = row[Int(node.feature)]
                if x <= node.threshold {
                    index = Int(node.child)
                } else if x.isNaN {
                    index = Int(node.child) + (missingLeft[index] ? 0 : 1)
                } else {
                    index = Int(node.child) + 1
                }
            }
            addLeaf(Int(nodes[index].child), tree: tree, values: values, into: output)
        }
    }

    /// The prediction: a value (one output), or class probabilities.
    public func predict(_ row: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>) {
        rawOutputs(row, into: output)
        switch link {
        case .identity: break
        case .sigmoid: output[0] = 1 / (1 + exp(-output[0]))
        case .softmax: Softmax.apply(output)
        }
    }

    // MARK: Binary form

    static let magic = Array("CVTREES1".utf8)
    /// Version 2 adds the covers after the leaf values; version 1 files (no covers) still load.
    static let binaryVersion: UInt32 = 2

    /// The `trees.bin` bytes: magic, a little-endian header, then the arrays.
    public func binary() -> Data {
        precondition(covers.count == nodes.count, "a tree ensemble is saved with its covers")
        var data = Data(Self.magic)
        func put<T: FixedWidthInteger>(_ values: [T]) {
            let littleEndian = values.map(\.littleEndian)
            littleEndian.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        put([Self.binaryVersion, UInt32(roots.count), UInt32(nodes.count), UInt32(leafValues.count)])
        put(roots)
        put(nodes.map(\.feature))
        put(nodes.map(\.child))
        put(nodes.map(\.threshold.bitPattern))
        put(missingLeft.map { $0 ? UInt8(1) : 0 })
        put(leafValues.map(\.bitPattern))
        put(covers.map(\.bitPattern))
        return data
    }

    /// Fills the arrays from `trees.bin` bytes, checking sizes and indices.
    public mutating func load(binary data: Data) throws {
        func fail(_ problem: String) -> ArtifactStore.LoadError {
            ArtifactStore.LoadError(problem: "trees.bin: \(problem)")
        }
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) throws in
            var offset = 0
            guard bytes.count >= 24, Array(bytes[0..<8]) == Self.magic else { throw fail("not a Conveyor tree file") }
            offset = 8
            func readArray<T: FixedWidthInteger>(_: T.Type, count: Int) throws -> [T] {
                let size = MemoryLayout<T>.size * count
                guard count >= 0, offset + size <= bytes.count else { throw fail("truncated") }
                let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + size)]))
                    initialized = count
                }
                offset += size
                return values.map { T(littleEndian: $0) }
            }
            let header = try readArray(UInt32.self, count: 4)
            guard header[0] == 1 || header[0] == Self.binaryVersion else {
                throw fail("unsupported version \(header[0])")
            }
            let (treeCount, nodeCount, valueCount) = (Int(header[1]), Int(header[2]), Int(header[3]))
            let roots = try readArray(Int32.self, count: treeCount)
            let features = try readArray(Int32.self, count: nodeCount)
            let children = try readArray(Int32.self, count: nodeCount)
            let thresholds = try readArray(UInt64.self, count: nodeCount)
            let missing = try readArray(UInt8.self, count: nodeCount)
            let values = try readArray(UInt64.self, count: valueCount)
            let covers = header[0] >= 2 ? try readArray(UInt64.self, count: nodeCount) : []
            guard offset == bytes.count else { throw fail("has trailing bytes") }
            guard leafWidth > 0, valueCount % leafWidth == 0 else { throw fail("leaf table size does not match") }
            let leaves = Int32(valueCount / leafWidth)
            for index in 0..<nodeCount {
                let child = children[index]
                let valid =
                    features[index] >= 0
                    ? child > Int32(index) && Int(child) + 1 < nodeCount
                    : features[index] == -1 && child >= 0 && child < leaves
                guard valid else { throw fail("node \(index) points outside the tree") }
            }
            guard roots.allSatisfy({ $0 >= 0 && Int($0) < nodeCount }) else { throw fail("a root is out of range") }
            self.roots = roots
            self.nodes = [TreeNode](unsafeUninitializedCapacity: nodeCount) { buffer, initialized in
                for index in 0..<nodeCount {
                    buffer[index] = TreeNode(
                        threshold: Double(bitPattern: thresholds[index]), feature: features[index],
                        child: children[index])
                }
                initialized = nodeCount
            }
            self.missingLeft = missing.map { $0 != 0 }
            self.leafValues = values.map { Double(bitPattern: $0) }
            self.covers = covers.map { Double(bitPattern: $0) }
            guard self.covers.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw fail("a cover is not positive") }
        }
    }

    /// The largest input index any node reads (to check against the feature schema).
    public var largestFeatureIndex: Int { Int(nodes.map(\.feature).max() ?? -1) }
}
