import Foundation
import Testing

@testable import TrainerService

/// What the trainer reads of a command's output directory: regular files of
/// their own, within a size cap; never what a link points at.
@Suite("Output files are read without following the command's links")
struct OutputFileTests {
    static func directory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "output-file-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("a regular file is read; a larger one than the limit is refused by its size before it is read")
    func sizeCap() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(repeating: 7, count: 10).write(to: directory.appendingPathComponent("model.onnx"))
        #expect(try OutputFile.read("model.onnx", in: directory, limit: 10).get() == Data(repeating: 7, count: 10))
        #expect(OutputFile.read("model.onnx", in: directory, limit: 9) == .failure(.tooLarge(10, limit: 9)))
        // A sparse file larger than the model cap is refused without reading a byte of it.
        let huge = directory.appendingPathComponent("huge.onnx")
        #expect(FileManager.default.createFile(atPath: huge.path, contents: nil))
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: UInt64(OutputFile.maxModelBytes) + 1)
        try handle.close()
        #expect(throws: TrainingFailure.self) { try OutputFile.model("huge.onnx", in: directory) }
        do {
            _ = try OutputFile.model("huge.onnx", in: directory)
        } catch let failure as TrainingFailure {
            #expect(failure.reason.contains("over the \(OutputFile.maxModelBytes)-byte limit"), "\(failure.reason)")
        }
    }

    @Test("a symbolic link, a hard link, a FIFO and a directory are refused, each saying what it is")
    func refusals() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("link.onnx").path, withDestinationPath: "/etc/passwd")
        try Data("own".utf8).write(to: directory.appendingPathComponent("own.onnx"))
        #expect(
            link(directory.appendingPathComponent("own.onnx").path, directory.appendingPathComponent("hard.onnx").path)
                == 0)
        #expect(mkfifo(directory.appendingPathComponent("fifo.onnx").path, 0o644) == 0)
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("dir.onnx"), withIntermediateDirectories: false)
        #expect(OutputFile.read("link.onnx", in: directory, limit: 1 << 20) == .failure(.symbolicLink))
        #expect(OutputFile.read("hard.onnx", in: directory, limit: 1 << 20) == .failure(.hardLink(2)))
        #expect(OutputFile.read("fifo.onnx", in: directory, limit: 1 << 20) == .failure(.notRegular("a FIFO")))
        #expect(OutputFile.read("dir.onnx", in: directory, limit: 1 << 20) == .failure(.notRegular("a directory")))
        #expect(OutputFile.read("none.onnx", in: directory, limit: 1 << 20) == .failure(.missing))
    }

    @Test("an output directory replaced by a symbolic link is not followed")
    func swappedDirectory() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let swapped = directory.appendingPathComponent("out")
        try FileManager.default.createSymbolicLink(atPath: swapped.path, withDestinationPath: "/etc")
        guard case .failure(.unreadable) = OutputFile.read("passwd", in: swapped, limit: 1 << 20) else {
            Issue.record("/etc/passwd was read through a symlinked output directory")
            return
        }
    }
}
