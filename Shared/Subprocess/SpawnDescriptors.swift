import Foundation

/// Descriptor hygiene for `posix_spawn`: glibc's
/// `posix_spawn_file_actions_addclosefrom_np` (2.34+) closes every descriptor
/// from a number up in the child, so nothing the service holds (listeners,
/// Postgres and libcurl sockets, log files) reaches a spawned program, whether
/// or not it was opened close-on-exec. Swift's Glibc module does not export
/// it (it is a GNU extension), so it is looked up once by name.
enum SpawnDescriptors {
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    private static let closeFromFunction: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// Adds "close every descriptor from `lowest` up" to `actions`; false when glibc cannot.
    static func closeFrom(_ lowest: Int32, in actions: inout posix_spawn_file_actions_t) -> Bool {
        guard let closeFromFunction else { return false }
        return closeFromFunction(&actions, lowest) == 0
    }
}
