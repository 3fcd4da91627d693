import JSON
import Learning

/// An instance as the prediction log keeps it: one JSON object of the
/// features the model read, each value in its canonical form (a number, or
/// null, for numeric features; a string for categories and dates; true or
/// false), whatever route and format it came in. Monitoring's SQL casts these
/// values without checking them again, so nothing a client sent verbatim
/// (a CSV cell, `1e-400`, an unknown key) reaches a cast.
struct LoggedInstance {
    private var text = "{"
    private var first = true

    mutating func append(_ feature: FeatureSpec, _ value: FeatureValue?) {
        text += first ? "" : ","
        first = false
        text += JSONText.quoted(feature.name)
        text += ":"
        text += (value ?? .missing).canonicalJSON(type: feature.type)
    }

    /// The request's business id (`PREDICTION_ID_FIELD`), kept as a string beside the features.
    mutating func appendID(_ field: String, _ value: FeatureValue) {
        let id: String
        switch value {
        case .text(let text): id = text
        case .number(let number):
            id = number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
        case .bool(let flag): id = String(flag)
        case .missing, .invalid: return
        }
        text += first ? "" : ","
        first = false
        text += JSONText.quoted(field) + ":" + JSONText.quoted(id)
    }

    var json: String { text + "}" }
}
