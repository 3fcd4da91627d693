import Foundation

/// The account untrusted code runs as (`nobody` when the service is root) and
/// the directories handed to it: owned by that account, mode 0700, so no other
/// run (and no process some other run left behind) can read or rewrite them.
public enum SandboxUser {
    /// The account's name when the service runs as root; nil otherwise (the code runs as the service's user).
    public static var name: String? { geteuid() == 0 ? "nobody" : nil }

    /// Makes `directory` private to the sandboxed account.
    public static func own(_ directory: URL) {
        _ = chmod(directory.path, 0o700)
        guard geteuid() == 0, let account = getpwnam("nobody") else { return }
        _ = chown(directory.path, account.pointee.pw_uid, account.pointee.pw_gid)
    }

    /// Gives `directory`, and everything in it, back to the service's own user with
    /// nothing writable by others (and everything readable): what untrusted code
    /// built becomes read-only to it, and still usable.
    public static func seal(_ directory: URL) throws {
        let result = try ChildProcess.run(
            [
                "/bin/sh", "-c", "chown -R \"$0\" \"$1\" && chmod -R go-w,go+rX \"$1\"", "\(geteuid()):\(getegid())",
                directory.path,
            ],
            inheritEnvironment: false)
        guard result.status == 0 else {
            throw CommandError(command: "chown -R", status: result.status, stderr: result.stderr)
        }
    }
}
