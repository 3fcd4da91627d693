import Foundation

/// Arithmetic, comparisons, logic and unary math, with broadcasting.
enum ElementwiseOperators {
    static let numeric: Set<ONNXElementType> = [.float, .double, .int64, .int32]
    static let real: Set<ONNXElementType> = [.float, .double]

    static var all: [Operator] {
        [
            arithmetic("Add", { $0 + $1 }, { $0 + $1 }, { $0 &+ $1 }, { $0 &+ $1 }),
            arithmetic("Sub", { $0 - $1 }, { $0 - $1 }, { $0 &- $1 }, { $0 &- $1 }),
            arithmetic("Mul", { $0 * $1 }, { $0 * $1 }, { $0 &* $1 }, { $0 &* $1 }),
            arithmetic(
                "Div", { $0 / $1 }, { $0 / $1 }, { $1 == 0 ? 0 : $0.dividedReportingOverflow(by: $1).partialValue },
                { $1 == 0 ? 0 : $0.dividedReportingOverflow(by: $1).partialValue }),
            power,
            unary("Sqrt", real) {
                $0.squareRoot()
            } double: {
                $0.squareRoot()
            },
            unary("Exp", real) {
                Foundation.exp($0)
            } double: {
                Foundation.exp($0)
            },
            unary("Log", real) {
                Foundation.log($0)
            } double: {
                Foundation.log($0)
            },
            unary("Reciprocal", real) {
                1 / $0
            } double: {
                1 / $0
            },
            unary("Tanh", real) {
                Foundation.tanh($0)
            } double: {
                Foundation.tanh($0)
            },
            unary("Sigmoid", real) {
                sigmoid($0)
            } double: {
                sigmoid($0)
            },
            unary("Abs", numeric) {
                Swift.abs($0)
            } double: {
                Swift.abs($0)
            } int: {
                $0 == .min ? $0 : Swift.abs($0)
            },
            unary("Neg", numeric) {
                -$0
            } double: {
                -$0
            } int: {
                0 &- $0
            },
            unary("Relu", numeric) {
                Swift.max($0, 0)
            } double: {
                Swift.max($0, 0)
            } int: {
                Swift.max($0, 0)
            },
            comparison("Equal", extraTypes: [.bool, .string], double: { $0 == $1 }, int64: { $0 == $1 }),
            comparison("Less", double: { $0 < $1 }, int64: { $0 < $1 }),
            comparison("Greater", double: { $0 > $1 }, int64: { $0 > $1 }),
            Operator("Not") { spec in
                try spec.require(0, in: [.bool])
                return CompiledNode(
                    kernel: { inputs in
                        let x = try tensorInput(inputs, 0)
                        guard case .bool(let values) = x.storage else { throw ONNXError("Not needs bool") }
                        return [.tensor(ONNXTensor(bools: values.map { !$0 }, shape: x.shape))]
                    }, outputTypes: [.tensor(.bool, shape: spec.inputShape(0))])
            },
            Operator("IsNaN") { spec in
                try spec.require(0, in: real)
                return CompiledNode(
                    kernel: { inputs in
                        let x = try tensorInput(inputs, 0)
                        let flags: [Bool] =
                            switch x.storage {
                            case .float(let v): v.map(\.isNaN)
                            case .double(let v): v.map(\.isNaN)
                            default: throw ONNXError("IsNaN needs float or double")
                            }
                        return [.tensor(ONNXTensor(bools: flags, shape: x.shape))]
                    }, outputTypes: [.tensor(.bool, shape: spec.inputShape(0))])
            },
            whereOperator, clip,
        ]
    }

    static func sigmoid<T: BinaryFloatingPoint & ElementaryFunctionsLike>(_ x: T) -> T {
        x >= 0 ? 1 / (1 + T.expOf(-x)) : T.expOf(x) / (1 + T.expOf(x))
    }

    static func arithmetic(
        _ name: String, _ float: @escaping @Sendable (Float, Float) -> Float,
        _ double: @escaping @Sendable (Double, Double) -> Double,
        _ int64: @escaping @Sendable (Int64, Int64) -> Int64, _ int32: @escaping @Sendable (Int32, Int32) -> Int32
    ) -> Operator {
        Operator(name) { spec in
            let type = try spec.require(0, in: numeric)
            guard try spec.inputType(1) == type else {
                throw spec.error("inputs must have one type; got \(type) and \(try spec.inputType(1))")
            }
            return CompiledNode(
                kernel: { inputs in
                    let a = try tensorInput(inputs, 0)
                    let b = try tensorInput(inputs, 1)
                    switch (a.storage, b.storage) {
                    case (.float(let x), .float(let y)):
                        let (values, shape) = try Broadcast.map(x, a.shape, y, b.shape, float)
                        return [.tensor(ONNXTensor(floats: values, shape: shape))]
                    case (.double(let x), .double(let y)):
                        let (values, shape) = try Broadcast.map(x, a.shape, y, b.shape, double)
                        return [.tensor(ONNXTensor(doubles: values, shape: shape))]
                    case (.int64(let x), .int64(let y)):
                        let (values, shape) = try Broadcast.map(x, a.shape, y, b.shape, int64)
                        return [.tensor(ONNXTensor(int64s: values, shape: shape))]
                    case (.int32(let x), .int32(let y)):
                        let (values, shape) = try Broadcast.map(x, a.shape, y, b.shape, int32)
                        return [.tensor(ONNXTensor(shape: shape, storage: .int32(values)))]
                    default: throw ONNXError("\(name) inputs differ in type")
                    }
                }, outputTypes: [.tensor(type, shape: broadcastShape(spec.inputShape(0), spec.inputShape(1)))])
        }
    }

    /// The broadcast shape when both are known.
    static func broadcastShape(_ a: [Int?]?, _ b: [Int?]?) -> [Int?]? {
        guard let a, let b, a.allSatisfy({ $0 != nil }), b.allSatisfy({ $0 != nil }) else { return nil }
        return (try? Broadcast.shape(a.map { $0! }, b.map { $0! }))?.map { $0 }
    }

    static var power: Operator {
        Operator("Pow") { spec in
            let type = try spec.require(0, in: numeric)
            try spec.require(1, in: numeric)
            return CompiledNode(
                kernel: { inputs in
                    let a = try tensorInput(inputs, 0)
                    let b = try tensorInput(inputs, 1)
                    let exponents = b.doubles
                    switch a.storage {
                    case .float(let x):
                        if case .float(let y) = b.storage {
                            let (values, shape) = try Broadcast.map(x, a.shape, y, b.shape) { Foundation.pow($0, $1) }
                            return [.tensor(ONNXTensor(floats: values, shape: shape))]
                        }
                        let (values, shape) = try Broadcast.map(x, a.shape, exponents, b.shape) {
                            Float(Foundation.pow(Double($0), $1))
                        }
                        return [.tensor(ONNXTensor(floats: values, shape: shape))]
                    case .double(let x):
                        let (values, shape) = try Broadcast.map(x, a.shape, exponents, b.shape) {
                            Foundation.pow($0, $1)
                        }
                        return [.tensor(ONNXTensor(doubles: values, shape: shape))]
                    case .int64(let x):
                        let (values, shape) = try Broadcast.map(x, a.shape, exponents, b.shape) {
                            Int64(exactly: Foundation.pow(Double($0), $1).rounded(.towardZero)) ?? 0
                        }
                        return [.tensor(ONNXTensor(int64s: values, shape: shape))]
                    case .int32(let x):
                        let (values, shape) = try Broadcast.map(x, a.shape, exponents, b.shape) {
                            Int32(exactly: Foundation.pow(Double($0), $1).rounded(.towardZero)) ?? 0
                        }
                        return [.tensor(ONNXTensor(shape: shape, storage: .int32(values)))]
                    default: throw ONNXError("Pow needs numbers")
                    }
                }, outputTypes: [.tensor(type, shape: broadcastShape(spec.inputShape(0), spec.inputShape(1)))])
        }
    }

    static func unary(
        _ name: String, _ types: Set<ONNXElementType>, float: @escaping @Sendable (Float) -> Float,
        double: @escaping @Sendable (Double) -> Double, int: (@Sendable (Int64) -> Int64)? = nil
    ) -> Operator {
        Operator(name) { spec in
            let type = try spec.require(0, in: types)
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    let storage: ONNXTensor.Storage
                    switch x.storage {
                    case .float(let v): storage = .float(v.map(float))
                    case .double(let v): storage = .double(v.map(double))
                    case .int64(let v) where int != nil: storage = .int64(v.map(int!))
                    case .int32(let v) where int != nil:
                        storage = .int32(v.map { Int32(truncatingIfNeeded: int!(Int64($0))) })
                    default: throw ONNXError("\(name) does not take \(x.elementType)")
                    }
                    return [.tensor(ONNXTensor(shape: x.shape, storage: storage))]
                }, outputTypes: [.tensor(type, shape: spec.inputShape(0))])
        }
    }

    /// Equal, Less or Greater: numbers compared in their own type (int64
    /// exactly, the rest as doubles), strings and booleans for equality only.
    static func comparison(
        _ name: String, extraTypes: Set<ONNXElementType> = [],
        double compare: @escaping @Sendable (Double, Double) -> Bool,
        int64 compareInt: @escaping @Sendable (Int64, Int64) -> Bool
    ) -> Operator {
        Operator(name) { spec in
            let type = try spec.require(0, in: numeric.union(extraTypes))
            guard try spec.inputType(1) == type else { throw spec.error("inputs must have one type") }
            return CompiledNode(
                kernel: { inputs in
                    let a = try tensorInput(inputs, 0)
                    let b = try tensorInput(inputs, 1)
                    let (values, shape): ([Bool], [Int])
                    switch (a.storage, b.storage) {
                    case (.string(let x), .string(let y)):
                        (values, shape) = try Broadcast.map(x, a.shape, y, b.shape, ==)
                    case (.bool(let x), .bool(let y)): (values, shape) = try Broadcast.map(x, a.shape, y, b.shape, ==)
                    case (.int64(let x), .int64(let y)):
                        (values, shape) = try Broadcast.map(x, a.shape, y, b.shape, compareInt)
                    case (.float(let x), .float(let y)):
                        (values, shape) = try Broadcast.map(x, a.shape, y, b.shape) { compare(Double($0), Double($1)) }
                    default: (values, shape) = try Broadcast.map(a.doubles, a.shape, b.doubles, b.shape, compare)
                    }
                    return [.tensor(ONNXTensor(bools: values, shape: shape))]
                }, outputTypes: [.tensor(.bool, shape: broadcastShape(spec.inputShape(0), spec.inputShape(1)))])
        }
    }

    static var whereOperator: Operator {
        Operator("Where") { spec in
            try spec.require(0, in: [.bool])
            let type = try spec.inputType(1)
            guard try spec.inputType(2) == type else { throw spec.error("inputs 2 and 3 must have one type") }
            return CompiledNode(
                kernel: { inputs in
                    let condition = try tensorInput(inputs, 0)
                    let x = try tensorInput(inputs, 1)
                    let y = try tensorInput(inputs, 2)
                    guard case .bool(let flags) = condition.storage else {
                        throw ONNXError("Where needs a bool condition")
                    }
                    let shape = try Broadcast.shape(condition.shape, x.shape, y.shape)
                    let c = Broadcast.offsets(of: condition.shape, in: shape)
                    let xi = Broadcast.offsets(of: x.shape, in: shape)
                    let yi = Broadcast.offsets(of: y.shape, in: shape)
                    func pick<T>(_ a: [T], _ b: [T]) -> [T] { c.indices.map { flags[c[$0]] ? a[xi[$0]] : b[yi[$0]] } }
                    let storage: ONNXTensor.Storage
                    switch (x.storage, y.storage) {
                    case (.float(let a), .float(let b)): storage = .float(pick(a, b))
                    case (.double(let a), .double(let b)): storage = .double(pick(a, b))
                    case (.int64(let a), .int64(let b)): storage = .int64(pick(a, b))
                    case (.int32(let a), .int32(let b)): storage = .int32(pick(a, b))
                    case (.bool(let a), .bool(let b)): storage = .bool(pick(a, b))
                    case (.string(let a), .string(let b)): storage = .string(pick(a, b))
                    default: throw ONNXError("Where's inputs differ in type")
                    }
                    return [.tensor(ONNXTensor(shape: shape, storage: storage))]
                }, outputTypes: [.tensor(type)])
        }
    }

    static var clip: Operator {
        Operator("Clip", attributes: ["min", "max"]) { spec in
            let type = try spec.require(0, in: numeric)
            let attributeMin = spec.float("min").map(Double.init)
            let attributeMax = spec.float("max").map(Double.init)
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    let low = optionalTensorInput(inputs, 1)?.doubles.first ?? attributeMin
                    let high = optionalTensorInput(inputs, 2)?.doubles.first ?? attributeMax
                    func bound(_ v: Double) -> Double {
                        var v = v
                        if let low, v < low { v = low }
                        if let high, v > high { v = high }
                        return v
                    }
                    let storage: ONNXTensor.Storage
                    switch x.storage {
                    case .float(let v):
                        let (lo, hi) = (low.map(Float.init), high.map(Float.init))
                        storage = .float(
                            v.map { value in
                                var value = value
                                if let lo, value < lo { value = lo }
                                if let hi, value > hi { value = hi }
                                return value
                            })
                    case .double(let v): storage = .double(v.map(bound))
                    case .int64(let v): storage = .int64(v.map { Int64(bound(Double($0))) })
                    case .int32(let v): storage = .int32(v.map { Int32(bound(Double($0))) })
                    default: throw ONNXError("Clip needs numbers")
                    }
                    return [.tensor(ONNXTensor(shape: x.shape, storage: storage))]
                }, outputTypes: [.tensor(type, shape: spec.inputShape(0))])
        }
    }
}

/// `exp` for the two float types, so `sigmoid` is written once.
protocol ElementaryFunctionsLike { static func expOf(_ x: Self) -> Self }
extension Float: ElementaryFunctionsLike { static func expOf(_ x: Float) -> Float { Foundation.exp(x) } }
extension Double: ElementaryFunctionsLike { static func expOf(_ x: Double) -> Double { Foundation.exp(x) } }
