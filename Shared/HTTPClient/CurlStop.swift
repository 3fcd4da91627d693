import Synchronization

/// Tells a running transfer to stop: set when the task awaiting it is cancelled, read by
/// the download's write callback (which then fails the transfer). A transfer that receives
/// nothing stops on its own after 30 s (libcurl's low-speed limit).
final class CurlStop: Sendable {
    private let flag = Atomic<Bool>(false)

    func set() { flag.store(true, ordering: .relaxed) }

    var isSet: Bool { flag.load(ordering: .relaxed) }
}
