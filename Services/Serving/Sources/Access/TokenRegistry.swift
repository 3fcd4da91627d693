import Foundation
import Logging
import Migrations
import Postgres
import ServiceKit
import ServiceLifecycle

/// Keeps this replica's `PredictionAccess` in step with `prediction_tokens`: reloaded at start,
/// on every NOTIFY of a created or revoked token (so a revocation reaches every replica in
/// milliseconds) and every poll interval; and writes the tokens' `last_used_at` every
/// `usageInterval` in one statement, never once per request.
struct TokenRegistry: Service, CustomStringConvertible {
    var description: String { "TokenRegistry" }

    let database: PostgresClient
    let access: PredictionAccess
    let pollInterval: Duration
    var usageInterval: Duration = .seconds(5)
    let logger: Logger

    func run() async throws {
        let store = TokenStore(database: database)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await WakeLoop.run(
                    database: database, channel: Schema.predictionTokensChannel, pollInterval: pollInterval,
                    logger: logger
                ) {
                    do {
                        access.replace(try await store.all())
                    } catch {
                        logger.warning("could not read the prediction tokens", metadata: ["error": "\(error)"])
                    }
                }
            }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: usageInterval)
                        await flushUses(store)
                    }
                }
                await flushUses(store)
            }
            await group.waitForAll()
        }
    }

    private func flushUses(_ store: TokenStore) async {
        let uses = access.takeUses()
        guard !uses.isEmpty else { return }
        do {
            try await store.touch(uses)
        } catch {
            logger.warning("could not record the tokens' last use", metadata: ["error": "\(error)"])
        }
    }
}
