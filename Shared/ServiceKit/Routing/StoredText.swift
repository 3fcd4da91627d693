/// Text from a request that Postgres will store. Postgres text and jsonb cannot
/// hold NUL (U+0000): libpq would cut the value at it (a version
/// `"v2\u0000junk"` would deploy `v2`) or the server would refuse it (a 500).
/// Such a value is refused instead, with a 422 naming the field.
public enum StoredText {
    /// What is wrong with `value` as stored text, if anything.
    public static func problem(_ value: String, field: String) -> FieldProblem? {
        value.utf8.contains(0) ? FieldProblem(field: field, problem: "must not contain a NUL character (U+0000)") : nil
    }
}
