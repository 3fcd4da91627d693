import Postgres

/// `webhook_deliveries`: each GitHub delivery id is applied once (GitHub
/// redelivers on timeouts, and an operator can redeliver by hand).
enum WebhookDeliveries {
    /// Records `delivery` inside the caller's transaction; false when it was recorded before.
    static func claim(_ connection: PostgresConnection, delivery: String, event: String) throws -> Bool {
        try connection.query(
            """
            INSERT INTO webhook_deliveries (delivery_id, event) VALUES (\(delivery), \(event))
            ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id
            """
        ).count == 1
    }
}
