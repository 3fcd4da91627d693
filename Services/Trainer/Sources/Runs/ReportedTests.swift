import Synchronization

/// The repository's test report, handed from the pipeline's pool thread to the run.
final class ReportedTests: Sendable {
    private let report = Mutex<RepositoryTestReport?>(nil)

    func set(_ new: RepositoryTestReport) { report.withLock { $0 = new } }
    var value: RepositoryTestReport? { report.withLock { $0 } }
}
