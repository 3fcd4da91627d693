import DurationUnits
import Foundation
import HTTPClient
import JSON
import Logging
import Postgres
import ServiceKit

/// The lines of a file descriptor (without their newlines), read in large chunks.
struct LineReader: AsyncSequence {
    typealias Element = ArraySlice<UInt8>
    let fileDescriptor: Int32

    struct AsyncIterator: AsyncIteratorProtocol {
        let fileDescriptor: Int32
        var buffer: [UInt8] = []
        var start = 0
        var finished = false

        mutating func next() async throws -> ArraySlice<UInt8>? {
            while true {
                if let newline = buffer[start...].firstIndex(of: 10) {
                    defer { start = newline + 1 }
                    return buffer[start..<newline]
                }
                if finished {
                    guard start < buffer.count else { return nil }
                    defer { start = buffer.count }
                    return buffer[start...]
                }
                buffer.removeFirst(start)
                start = 0
                var chunk = [UInt8](repeating: 0, count: 1 << 16)
                let count = chunk.withUnsafeMutableBytes { read(fileDescriptor, $0.baseAddress, $0.count) }
                if count < 0 { throw CocoaError(.fileReadUnknown) }
                if count == 0 { finished = true } else { buffer.append(contentsOf: chunk[0..<count]) }
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(fileDescriptor: fileDescriptor) }
}
