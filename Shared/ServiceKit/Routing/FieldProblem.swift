import Foundation
import Hummingbird
import JSON

/// One thing wrong with a request, named by its field.
public struct FieldProblem: Codable, Sendable, Equatable {
    public let field: String
    public let problem: String
    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }
}
