import Foundation

/// A file the repository's command left in `$CONVEYOR_OUTPUT_DIR`, read
/// without trusting the command: the directory and the file are opened
/// without following symbolic links (`O_NOFOLLOW`, the file relative to the
/// directory so a swapped directory cannot redirect it), and only a regular
/// file with a single link, no larger than a limit, is read. A link to
/// `/etc/shadow` or a FIFO that never ends is refused, never read as root.
enum OutputFile {
    /// The largest model file a command may write.
    static let maxModelBytes = 1 << 30

    /// Why a file was not read.
    enum Refusal: Error, Equatable, CustomStringConvertible {
        case missing
        case symbolicLink
        case notRegular(String)
        case hardLink(Int)
        case tooLarge(Int, limit: Int)
        case unreadable(String)

        var description: String {
            switch self {
            case .missing: "it does not exist"
            case .symbolicLink: "it is a symbolic link (only regular files are read)"
            case .notRegular(let kind): "it is \(kind), not a regular file"
            case .hardLink(let links): "it is a hard link (\(links) names for one file; only a file of its own is read)"
            case .tooLarge(let size, let limit): "it is \(size) bytes, over the \(limit)-byte limit"
            case .unreadable(let reason): "it cannot be read: \(reason)"
            }
        }
    }

    /// The bytes of `name` in `directory`, at most `limit` of them.
    static func read(_ name: String, in directory: URL, limit: Int) -> Result<Data, Refusal> {
        let folder = open(directory.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard folder >= 0 else {
            return .failure(.unreadable("the output directory: \(String(cString: strerror(errno)))"))
        }
        defer { close(folder) }
        // What the name is, before opening it (opening a device or a FIFO can have effects of its own).
        var listed = stat()
        guard fstatat(folder, name, &listed, AT_SYMLINK_NOFOLLOW) == 0 else {
            return .failure(errno == ENOENT ? .missing : .unreadable(String(cString: strerror(errno))))
        }
        if listed.st_mode & S_IFMT == S_IFLNK { return .failure(.symbolicLink) }
        guard listed.st_mode & S_IFMT == S_IFREG else { return .failure(.notRegular(kind(listed.st_mode))) }
        let descriptor = openat(folder, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard descriptor >= 0 else {
            switch errno {
            case ENOENT: return .failure(.missing)
            case ELOOP: return .failure(.symbolicLink)
            default: return .failure(.unreadable(String(cString: strerror(errno))))
            }
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        // And what was opened: the name may have been replaced in between.
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return .failure(.unreadable(String(cString: strerror(errno)))) }
        guard status.st_mode & S_IFMT == S_IFREG else { return .failure(.notRegular(kind(status.st_mode))) }
        guard status.st_nlink == 1 else { return .failure(.hardLink(Int(status.st_nlink))) }
        guard Int(status.st_size) <= limit else { return .failure(.tooLarge(Int(status.st_size), limit: limit)) }
        do {
            // The file may still grow while it is read: never past the limit.
            let data = try handle.read(upToCount: limit + 1) ?? Data()
            guard data.count <= limit else { return .failure(.tooLarge(data.count, limit: limit)) }
            return .success(data)
        } catch {
            return .failure(.unreadable("\(error)"))
        }
    }

    /// The model the command wrote as `name`, or the training failure that says why it cannot be used.
    static func model(_ name: String, in directory: URL) throws -> Data {
        switch read(name, in: directory, limit: maxModelBytes) {
        case .success(let data) where !data.isEmpty:
            return data
        case .success, .failure(.missing):
            throw TrainingFailure(
                stage: .command, reason: "train.output: the command did not write \(name) into $CONVEYOR_OUTPUT_DIR")
        case .failure(let refusal):
            throw TrainingFailure(stage: .command, reason: "train.output: \(name) was not read: \(refusal)")
        }
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "a special file"
        }
    }
}
