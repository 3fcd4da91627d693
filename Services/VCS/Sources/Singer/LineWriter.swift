import DurationUnits
import Foundation
import HTTPClient
import JSON
import Logging
import Postgres
import ServiceKit

/// Buffered writes of lines to a file descriptor.
final class LineWriter {
    private let fileDescriptor: Int32
    private var buffer: [UInt8] = []

    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
        buffer.reserveCapacity(1 << 16)
    }

    func write(_ line: Data) throws {
        buffer.append(contentsOf: line)
        buffer.append(10)
        if buffer.count >= 1 << 16 { try flush() }
    }

    func flush() throws {
        var offset = 0
        while offset < buffer.count {
            let written = buffer[offset...].withUnsafeBytes {
                Foundation.write(fileDescriptor, $0.baseAddress, $0.count)
            }
            guard written > 0 else { throw CocoaError(.fileWriteUnknown) }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
