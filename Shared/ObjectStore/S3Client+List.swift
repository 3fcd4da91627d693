extension S3Client {
    /// Every key that starts with `prefix`, in the store's (lexicographic)
    /// order, fetched `pageSize` at a time with ListObjectsV2's continuation tokens.
    public func list(prefix: String, pageSize: Int = 1000) async throws -> [String] {
        var keys: [String] = []
        var token: String?
        repeat {
            var query = [(name: "list-type", value: "2"), ("prefix", prefix), ("max-keys", "\(max(1, pageSize))")]
            if let token { query.append(("continuation-token", token)) }
            let response = try await send(.get, key: nil, query: query)
            let document = S3XML(response.body)
            guard document.root == "ListBucketResult" else { throw unexpected("a ListBucketResult", prefix) }
            keys += document.texts("ListBucketResult", "Contents", "Key")
            let next = document.text("ListBucketResult", "NextContinuationToken")
            if document.text("ListBucketResult", "IsTruncated") == "true" {
                guard let next, !next.isEmpty, next != token else {
                    throw unexpected("a new continuation token on a truncated page", prefix)
                }
                token = next
            } else {
                token = nil
            }
        } while token != nil
        return keys
    }

    /// The error for a 2xx answer that is not the document S3 sends.
    func unexpected(_ expected: String, _ key: String?) -> S3Error {
        S3Error(
            code: S3Error.Code(rawValue: "UnexpectedResponse"), message: "the store did not send \(expected)",
            status: 200, bucket: bucket, key: key)
    }
}
