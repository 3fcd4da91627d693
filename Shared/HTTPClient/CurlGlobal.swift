import CCurl
import DurationUnits
import Foundation
import HTTPTypes
import NIOPosix
import ServiceLifecycle

/// `curl_global_init` must run once before any handle is made.
enum CurlGlobal {
    static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
}
