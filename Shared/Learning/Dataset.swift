import Crypto
import Foundation

/// Encoded training or test data: a row-major feature matrix and the target.
public struct Dataset: Sendable {
    public var features: [[Double]]
    public var target: [Double]
    public var count: Int { target.count }

    public init(features: [[Double]], target: [Double]) {
        self.features = features
        self.target = target
    }
}

/// A data problem, named by file, line and column.
public struct DataProblem: Error, CustomStringConvertible, Equatable {
    public let problem: String
    public var description: String { problem }
}

/// Turns CSV tables into datasets according to the manifest's schema.
public struct DatasetBuilder: Sendable {
    public let manifest: Manifest

    public init(manifest: Manifest) { self.manifest = manifest }

    /// The feature specs with categories filled in from `table` where the
    /// manifest did not list them (sorted, so the encoding is stable).
    public func resolvedFeatures(from table: CSVTable, file: String) throws -> [FeatureSpec] {
        try manifest.features.map { feature in
            var feature = feature
            guard let column = table.column(feature.name) else {
                throw DataProblem(
                    problem:
                        "\(file): has no column \"\(feature.name)\" (header: \(table.header.joined(separator: ",")))")
            }
            if feature.type == .categorical, feature.categories == nil {
                let values = Set(table.rows.map { $0[column] }.filter { !CSVTable.isMissing($0) })
                feature.categories = values.sorted()
            }
            return feature
        }
    }

    /// Validates and encodes every row; the first bad row fails with its line.
    public func build(_ table: CSVTable, file: String, features: [FeatureSpec]) throws -> Dataset {
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
        var matrix: [[Double]] = []
        var target: [Double] = []
        matrix.reserveCapacity(table.rows.count)
        target.reserveCapacity(table.rows.count)
        // Validate every row and report them together (the first ten, and how many in all).
        var report: [String] = []
        var badRows = 0
        for (offset, row) in table.rows.enumerated() {
            let line = offset + 2  // 1-based, after the header
            var problems: [String] = []
            let y = Double(row[targetColumn])
            if y == nil || !(y!.isFinite) {
                problems.append("target \"\(manifest.target)\" is \"\(row[targetColumn])\", not a number")
            }
            let encoded = encoder.encode { name in
                guard let position = features.firstIndex(where: { $0.name == name }) else { return nil }
                let raw = row[columns[position]]
                return CSVTable.isMissing(raw) ? .missing : .text(raw)
            }
            switch encoded {
            case .vector(let vector) where problems.isEmpty:
                matrix.append(vector)
                target.append(y ?? 0)
            case .vector: break
            case .problems(let found): problems += found.map { $0.description }
            }
            if !problems.isEmpty {
                badRows += 1
                if report.count < 10 { report.append("line \(line): " + problems.joined(separator: "; ")) }
            }
        }
        if badRows > 0 {
            throw DataProblem(
                problem: "\(file): \(badRows) of \(table.rows.count) rows are invalid (missing values are rejected): "
                    + report.joined(separator: " | ") + (badRows > report.count ? " | …" : ""))
        }
        let minimum = max(2, manifest.data.minRows ?? 2)
        if target.count < minimum {
            throw DataProblem(problem: "\(file): needs at least \(minimum) rows (data.min_rows), has \(target.count)")
        }
        return Dataset(features: matrix, target: target)
    }
}

/// The identity of the data a model was trained on.
public struct DataFingerprint: Codable, Sendable, Equatable {
    /// sha256 over the data files' bytes, in manifest order.
    public let sha256: String
    public let rows: Int

    public init(files: [Data], rows: Int) {
        var hasher = SHA256()
        for file in files { hasher.update(data: file) }
        self.sha256 = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        self.rows = rows
    }
}
