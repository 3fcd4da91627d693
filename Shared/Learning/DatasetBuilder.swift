import Crypto
import Foundation

/// Turns CSV tables into datasets according to the manifest's schema.
public struct DatasetBuilder: Sendable {
    public let manifest: Manifest

    public init(manifest: Manifest) { self.manifest = manifest }

    /// The feature specs completed from the training table: categories where
    /// the manifest did not list them (sorted, so the encoding is stable), and
    /// the values to impute for `missing: impute`.
    public func resolvedFeatures(from table: CSVTable, file: String) throws -> [FeatureSpec] {
        try manifest.features.map { feature in
            var feature = feature
            guard let column = table.column(feature.name) else {
                throw DataProblem(
                    problem:
                        "\(file): has no column \"\(feature.name)\" (header: \(table.header.joined(separator: ",")))")
            }
            if feature.type == .categorical {
                let values = table.strings(column: column).filter { !CSVTable.isMissing($0) }
                if feature.categories == nil { feature.categories = Set(values).sorted() }
                if feature.missing == .impute {
                    var counts: [String: Int] = [:]
                    for value in values { counts[value, default: 0] += 1 }
                    feature.fillCategory = counts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
                }
            } else if feature.missing == .impute {
                let encoder = FeatureEncoder(features: [FeatureSpec(name: feature.name, type: feature.type)])
                var sum = 0.0
                var count = 0
                var slot = [0.0]
                slot.withUnsafeMutableBufferPointer { output in
                    for raw in table.strings(column: column) where !CSVTable.isMissing(raw) {
                        if encoder.encode(.text(raw), feature: 0, into: output, at: 0) == nil {
                            sum += output[0]
                            count += 1
                        }
                    }
                }
                feature.fill = count > 0 ? sum / Double(count) : 0
                if feature.type == .boolean { feature.fill = (feature.fill ?? 0).rounded() }
            }
            return feature
        }
    }

    /// The class names of a classification target, sorted.
    public func classes(from table: CSVTable, file: String) throws -> [String] {
        guard let column = table.column(manifest.target) else {
            throw DataProblem(problem: "\(file): has no target column \"\(manifest.target)\"")
        }
        return Set(table.strings(column: column).filter { !CSVTable.isMissing($0) }).sorted()
    }

    /// Validates and encodes every row. Invalid rows are reported together
    /// (the first ten with their lines, and how many in all).
    public func build(_ table: CSVTable, file: String, features: [FeatureSpec], classes: [String]? = nil) throws
        -> Dataset
    {
        guard let targetColumn = table.column(manifest.target) else {
            throw DataProblem(problem: "\(file): has no target column \"\(manifest.target)\"")
        }
        let columns = try features.map { feature -> Int in
            guard let index = table.column(feature.name) else {
                throw DataProblem(problem: "\(file): has no column \"\(feature.name)\"")
            }
            return index
        }
        let encoder = FeatureEncoder(features: features)
        let rows = table.rowCount
        var problems: [Int: [String]] = [:]
        var target = [Double](repeating: 0, count: rows)
        if let classes {
            let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, Double($0)) })
            for row in 0..<rows {
                let label = table.field(row: row, column: targetColumn)
                if let position = index[label] {
                    target[row] = position
                } else if CSVTable.isMissing(label) {
                    problems[row, default: []].append("target \"\(manifest.target)\" is missing")
                } else {
                    problems[row, default: []].append(
                        "target \"\(manifest.target)\" is \"\(label)\", a class the training data does not have")
                }
            }
        } else {
            let (values, _) = table.numbers(column: targetColumn)
            for row in 0..<rows {
                if values[row].isFinite {
                    target[row] = values[row]
                } else {
                    let raw = table.field(row: row, column: targetColumn)
                    problems[row, default: []].append("target \"\(manifest.target)\" is \"\(raw)\", not a number")
                }
            }
        }
        var matrix = [[Double]](repeating: [Double](repeating: 0, count: rows), count: encoder.width)
        var offset = 0
        var scratch = [Double](repeating: 0, count: max(1, features.map(\.width).max() ?? 1))
        for (index, feature) in features.enumerated() {
            let column = columns[index]
            let numbers = feature.type == .numeric ? table.numbers(column: column) : nil
            let invalid = Set(numbers?.invalid ?? [])
            scratch.withUnsafeMutableBufferPointer { output in
                for row in 0..<rows {
                    // Fast path: an in-range number needs no general encoding.
                    if let numbers, feature.type == .numeric {
                        let number = numbers.values[row]
                        if number.isFinite, number >= (feature.min ?? -.infinity), number <= (feature.max ?? .infinity)
                        {
                            matrix[offset][row] = number
                            continue
                        }
                    }
                    let value: FeatureValue
                    if let numbers, !invalid.contains(row) {
                        let number = numbers.values[row]
                        value = number.isNaN ? .missing : .number(number)
                    } else {
                        let raw = table.field(row: row, column: column)
                        value = CSVTable.isMissing(raw) ? .missing : .text(raw)
                    }
                    if let problem = encoder.encode(value, feature: index, into: output, at: 0) {
                        problems[row, default: []].append("\(feature.name): \(problem)")
                        continue
                    }
                    for position in 0..<feature.width { matrix[offset + position][row] = output[position] }
                }
            }
            offset += feature.width
        }
        if !problems.isEmpty {
            let first = problems.keys.sorted().prefix(10)
            let report = first.map { "line \(table.line(ofRow: $0)): " + problems[$0]!.joined(separator: "; ") }
            throw DataProblem(
                problem: "\(file): \(problems.count) of \(rows) rows are invalid: "
                    + report.joined(separator: " | ") + (problems.count > report.count ? " | …" : ""))
        }
        let minimum = max(2, manifest.data.minRows ?? 2)
        if rows < minimum {
            throw DataProblem(problem: "\(file): needs at least \(minimum) rows (data.min_rows), has \(rows)")
        }
        return Dataset(columns: matrix, target: target)
    }
}
