import HTTPClient

extension S3Client {
    /// Uploads a file in parts (CreateMultipartUpload, UploadPart ×N with
    /// `partConcurrency` at once, CompleteMultipartUpload); on any failure the
    /// upload is aborted, so the store keeps neither an object nor its parts.
    func putInParts(_ key: String, file: CurlFileRange, contentType: String) async throws -> String {
        let uploadID = try await createMultipartUpload(key, contentType: contentType)
        do {
            let etags = try await uploadParts(key, uploadID: uploadID, parts: Self.parts(of: file, partSize: partSize))
            return try await completeMultipartUpload(key, uploadID: uploadID, etags: etags)
        } catch {
            try? await abort(S3MultipartUpload(key: key, uploadID: uploadID, initiated: nil))
            throw error
        }
    }

    /// `file` cut into parts of `partSize` bytes (the last shorter), at most
    /// S3's 10,000: larger files get larger parts.
    static func parts(of file: CurlFileRange, partSize: Int64) -> [CurlFileRange] {
        let size = max(partSize, (file.length + 9_999) / 10_000)
        return stride(from: Int64(0), to: file.length, by: Int(size)).map { start in
            CurlFileRange(file: file.file, offset: file.offset + start, length: min(size, file.length - start))
        }
    }

    func createMultipartUpload(_ key: String, contentType: String) async throws -> String {
        let response = try await send(.post, key: key, query: [("uploads", "")], body: [], contentType: contentType)
        let document = S3XML(response.body)
        guard let uploadID = document.text("InitiateMultipartUploadResult", "UploadId"), !uploadID.isEmpty else {
            throw unexpected("an InitiateMultipartUploadResult with an UploadId", key)
        }
        return uploadID
    }

    /// Uploads the parts, `partConcurrency` at a time; their ETags in part order.
    private func uploadParts(_ key: String, uploadID: String, parts: [CurlFileRange]) async throws -> [String] {
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var etags = [String](repeating: "", count: parts.count)
            for (index, part) in parts.enumerated() {
                if index >= partConcurrency, let (done, etag) = try await group.next() { etags[done] = etag }
                group.addTask {
                    let hash = try await PayloadHash.of(part)
                    let response = try await send(
                        .put, key: key, query: [("partNumber", "\(index + 1)"), ("uploadId", uploadID)], upload: part,
                        payloadHash: hash)
                    guard let etag = response.header(.eTag), !etag.isEmpty else {
                        throw unexpected("an ETag for part \(index + 1)", key)
                    }
                    return (index, etag)
                }
            }
            for try await (done, etag) in group { etags[done] = etag }
            return etags
        }
    }

    /// Completes the upload; S3 may answer 200 with an error document, which throws.
    private func completeMultipartUpload(_ key: String, uploadID: String, etags: [String]) async throws -> String {
        let parts = etags.enumerated().map { index, etag in
            "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(Self.escaped(etag))</ETag></Part>"
        }
        let body =
            #"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#
            + parts.joined() + "</CompleteMultipartUpload>"
        let response = try await send(
            .post, key: key, query: [("uploadId", uploadID)], body: Array(body.utf8), contentType: "application/xml")
        let document = S3XML(response.body)
        if document.root == "Error" { throw error(from: response, key: key) }
        guard let etag = document.text("CompleteMultipartUploadResult", "ETag") else {
            throw unexpected("a CompleteMultipartUploadResult", key)
        }
        return etag
    }

    /// `text` safe inside an XML element.
    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
