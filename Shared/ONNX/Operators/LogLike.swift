import Foundation

/// `log` for the two float types, for LogSoftmax.
protocol LogLike { static func logOf(_ x: Self) -> Self }
