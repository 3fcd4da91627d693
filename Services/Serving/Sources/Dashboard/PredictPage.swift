import Foundation
import Learning
import Registry

/// `GET /predict` for browsers: a form generated from the live model's
/// feature schema, pre-filled with the training data's medians and most
/// frequent categories, that posts to the JSON API (`/static/dashboard.js`)
/// and shows the answer, per-class probabilities, or for a forecast the
/// recent history followed by the forecast as a line chart; for a model that
/// can explain itself, each feature's contribution as a sorted bar chart.
struct PredictPage {
    struct Option {
        let value: String
        let selected: Bool
    }

    struct Field {
        let name: String
        let isNumber: Bool
        let isSelect: Bool
        let isCheckbox: Bool
        let isDate: Bool
        let min: String?
        let max: String?
        let value: String
        let checked: Bool
        let options: [Option]
        let hint: String
    }

    let modelName: String
    /// The route the form posts to: the model's own (`/models/{name}/predict`).
    let endpoint: String
    let version: String
    let task: String
    let isForecast: Bool
    let maxHorizon: Int
    let fields: [Field]
    /// `[{"date", "value"}]` of the recent history a forecast continues (JSON, escaped into an attribute).
    let historyJSON: String
    /// Whether the form asks for explanations (models with exact ones, not forecasts: their chart is the forecast).
    let canExplain: Bool
    /// Why not, when the model has none.
    let explainNote: String?
    /// `PREDICT_AUTH=token`: the form asks for a prediction token (sent as a bearer, kept nowhere).
    let tokenRequired: Bool

    init(_ model: LoadedModel, tokenRequired: Bool = false) {
        self.tokenRequired = tokenRequired
        let artifact = model.artifact
        modelName = artifact.name
        endpoint = "/models/\(ModelsPage.queryValue(model.name))/predict"
        version = model.deployment.version
        task = artifact.task.rawValue
        isForecast = artifact.forecast != nil
        maxHorizon = artifact.forecast?.maxHorizon ?? 0
        fields = artifact.forecast == nil ? artifact.features.map { Self.field($0, artifact.reference[$0.name]) } : []
        historyJSON = artifact.forecast.map(Self.history) ?? "[]"
        switch model.explainer {
        case .success: (canExplain, explainNote) = (artifact.forecast == nil, nil)
        case .failure(let unavailable): (canExplain, explainNote) = (false, unavailable.description)
        }
    }

    static func field(_ spec: FeatureSpec, _ reference: FeatureStatistics?) -> Field {
        let median = reference?.deciles.flatMap { $0.count == 11 ? $0[5] : nil } ?? reference?.mean
        let mode = reference?.frequencies?.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
        var hint = [
            spec.min.map { "min \(DashboardFormat.number($0))" }, spec.max.map { "max \(DashboardFormat.number($0))" },
        ]
        .compactMap { $0 }.joined(separator: ", ")
        if spec.missing == .impute || spec.missing == .native {
            hint += hint.isEmpty ? "may be left empty" : "; may be left empty"
        }
        switch spec.type {
        case .numeric:
            let value = median.map { Swift.min(spec.max ?? $0, Swift.max(spec.min ?? $0, $0)) }
            return Field(
                name: spec.name, isNumber: true, isSelect: false, isCheckbox: false, isDate: false,
                min: spec.min.map(DashboardFormat.number), max: spec.max.map(DashboardFormat.number),
                value: value.map(DashboardFormat.number) ?? "", checked: false, options: [], hint: hint)
        case .categorical:
            let categories = spec.categories ?? reference?.frequencies.map { Array($0.keys).sorted() } ?? []
            let chosen = mode ?? categories.first
            return Field(
                name: spec.name, isNumber: false, isSelect: true, isCheckbox: false, isDate: false, min: nil, max: nil,
                value: chosen ?? "", checked: false,
                options: categories.map { Option(value: $0, selected: $0 == chosen) }, hint: hint)
        case .boolean:
            return Field(
                name: spec.name, isNumber: false, isSelect: false, isCheckbox: true, isDate: false, min: nil, max: nil,
                value: "", checked: mode == "true", options: [], hint: hint)
        case .date:
            let day = median.map { CalendarDay(ordinal: Int($0.rounded())).description } ?? ""
            return Field(
                name: spec.name, isNumber: false, isSelect: false, isCheckbox: false, isDate: true, min: nil, max: nil,
                value: day, checked: false, options: [], hint: hint)
        }
    }

    /// The last 60 observed values with their dates.
    static func history(_ forecast: ForecastModel) -> String {
        guard let last = CalendarDay(forecast.lastDate) else { return "[]" }
        let recent = forecast.history.suffix(60)
        let points = recent.enumerated().map { index, value in
            let day = CalendarDay(ordinal: last.ordinal - (recent.count - 1 - index) * forecast.step)
            return "{\"date\":\"\(day)\",\"value\":\(value.isFinite ? "\(value)" : "null")}"
        }
        return "[" + points.joined(separator: ",") + "]"
    }

    static let template = """
        {{> head}}
        {{#page}}
        <h1>Predict with {{modelName}} <code id="version">{{version}}</code></h1>
        <p class="muted">A {{task}} model. The form is built from its feature schema and filled with typical values
        from its training data; it calls <code>POST {{endpoint}}</code> like any client.</p>
        <form class="predict" id="predict-form" data-forecast="{{isForecast}}" data-endpoint="{{endpoint}}" novalidate>
        {{#isForecast}}<label for="horizon">horizon (steps, 1 to {{maxHorizon}})</label>
        <input id="horizon" name="horizon" type="number" min="1" max="{{maxHorizon}}" step="1" value="7" data-kind="number">
        <span class="field-error" data-field="horizon"></span>
        <div id="history" data-history="{{historyJSON}}"></div>{{/isForecast}}
        {{#fields}}<label for="field-{{name}}">{{name}}</label>
        {{#isNumber}}<input id="field-{{name}}" name="{{name}}" type="number" step="any" {{#min}}min="{{.}}"{{/min}} {{#max}}max="{{.}}"{{/max}} value="{{value}}" data-kind="number">{{/isNumber}}
        {{#isSelect}}<select id="field-{{name}}" name="{{name}}" data-kind="text">{{#options}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/options}}</select>{{/isSelect}}
        {{#isCheckbox}}<input id="field-{{name}}" name="{{name}}" type="checkbox"{{#checked}} checked{{/checked}} data-kind="bool">{{/isCheckbox}}
        {{#isDate}}<input id="field-{{name}}" name="{{name}}" type="date" value="{{value}}" data-kind="text">{{/isDate}}
        <span class="small muted">{{hint}}</span> <span class="field-error" data-field="{{name}}"></span>
        {{/fields}}
        {{#canExplain}}<label class="inline"><input id="explain" type="checkbox" checked> explain: each feature's exact contribution (TreeSHAP / linear)</label>{{/canExplain}}
        {{#explainNote}}<p class="small muted" id="explain-note">{{.}}</p>{{/explainNote}}
        {{#tokenRequired}}<label for="prediction-token">prediction token (PREDICT_AUTH=token)</label>
        <input id="prediction-token" type="password" autocomplete="off" spellcheck="false">
        <span class="field-error" data-field="authorization"></span>{{/tokenRequired}}
        <p><button type="submit" id="predict-submit">Predict</button></p>
        </form>
        <section id="result" hidden><h2>Answer</h2>
        <p><strong id="result-value"></strong></p>
        <div id="result-probabilities"></div>
        <div id="result-contributions"></div>
        <div id="result-chart"></div>
        <p class="small muted">version <code id="result-version"></code> · request <code id="result-request"></code></p></section>
        <p id="result-error" class="worse" hidden></p>
        {{/page}}
        <script src="/static/dashboard.js"></script>
        {{> foot}}
        """
}
