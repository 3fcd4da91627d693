import Foundation

/// Waiting for a child without reaping it. A child that has exited but is not
/// yet reaped (a zombie) keeps its process id, and so the id of the process
/// group it leads: killing that group is safe until the child is reaped, and
/// never after (the id may by then belong to another process group: with
/// `pid_max` at 32768 and thousands of processes a minute, ids come round in
/// minutes). So a group is killed between `exited` and `reap`, never after.
enum ChildExit {
    /// The child's wait status (as `waitpid` gives it) once it has exited, leaving it
    /// unreaped; nil while it runs (`block: false`) or when it is not our child.
    static func exited(_ pid: pid_t, block: Bool) -> Int32? {
        var info = siginfo_t()
        while true {
            let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT | (block ? 0 : WNOHANG))
            if result == 0 { break }
            if errno == EINTR { continue }
            return nil
        }
        // With WNOHANG and nothing to report, waitid succeeds and leaves si_pid zero.
        guard info._sifields._sigchld.si_pid == pid else { return nil }
        let status = info._sifields._sigchld.si_status
        return info.si_code == Int32(CLD_EXITED) ? (status & 0xff) << 8 : status & 0x7f
    }

    /// Reaps the (exited) child; its process id may be reused from now on.
    static func reap(_ pid: pid_t) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
}
