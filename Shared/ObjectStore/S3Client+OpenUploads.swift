extension S3Client {
    /// The multipart uploads open under `prefix` (ListMultipartUploads, every
    /// page): what a killed uploader left behind, for a clean-up to abort.
    public func openUploads(prefix: String) async throws -> [S3MultipartUpload] {
        var uploads: [S3MultipartUpload] = []
        var markers: (key: String, uploadID: String)?
        repeat {
            var query = [(name: "uploads", value: ""), ("prefix", prefix)]
            if let markers { query += [("key-marker", markers.key), ("upload-id-marker", markers.uploadID)] }
            let document = S3XML(try await send(.get, key: nil, query: query).body)
            guard document.root == "ListMultipartUploadsResult" else {
                throw unexpected("a ListMultipartUploadsResult", prefix)
            }
            let keys = document.texts("ListMultipartUploadsResult", "Upload", "Key")
            let ids = document.texts("ListMultipartUploadsResult", "Upload", "UploadId")
            let started = document.texts("ListMultipartUploadsResult", "Upload", "Initiated")
            guard keys.count == ids.count else { throw unexpected("a Key and an UploadId for each upload", prefix) }
            for (index, key) in keys.enumerated() {
                let initiated = started.count == keys.count ? S3MultipartUpload.date(started[index]) : nil
                uploads.append(S3MultipartUpload(key: key, uploadID: ids[index], initiated: initiated))
            }
            let next = (
                document.text("ListMultipartUploadsResult", "NextKeyMarker") ?? "",
                document.text("ListMultipartUploadsResult", "NextUploadIdMarker") ?? ""
            )
            let truncated = document.text("ListMultipartUploadsResult", "IsTruncated") == "true"
            guard !truncated || (!next.0.isEmpty && next != (markers?.key ?? "", markers?.uploadID ?? "")) else {
                throw unexpected("new markers on a truncated page", prefix)
            }
            markers = truncated ? next : nil
        } while markers != nil
        return uploads
    }

    /// Aborts an open multipart upload, discarding its parts (AbortMultipartUpload).
    public func abort(_ upload: S3MultipartUpload) async throws {
        try await send(.delete, key: upload.key, query: [("uploadId", upload.uploadID)])
    }
}
