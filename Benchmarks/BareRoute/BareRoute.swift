import Hummingbird

/// The HTTP stack's ceiling for the serving benchmark: a Hummingbird route
/// that reads the body and answers a constant prediction, with no model, no
/// validation and no logging. `bare-route PORT`.
@main
struct BareRoute {
    static func main() async throws {
        let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 5099
        let router = Router()
        router.post("/predict") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"prediction":0.0}"#)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
