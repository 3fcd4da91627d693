/// An admin cancelled the run (`POST /runs/{id}/cancel`) while it was running.
struct RunCancelled: Error, CustomStringConvertible {
    var description: String { "cancelled by an admin" }
}
