/// A forecast model's series state and input recipe: from the latest values
/// it builds lag, trailing-mean and calendar inputs, asks the regressor for
/// the next value, appends it, and repeats for each step of the horizon.
public struct ForecastModel: Codable, Sendable, Equatable {
    public var dateColumn: String
    public var lags: [Int]
    public var windows: [Int]
    /// Days between observations.
    public var step: Int
    public var maxHorizon: Int
    /// Date of the last observed value (`YYYY-MM-DD`).
    public var lastDate: String
    /// The latest observed values, oldest first (as many as the inputs need).
    public var history: [Double]

    enum CodingKeys: String, CodingKey {
        case lags, windows, step, history
        case dateColumn = "date_column"
        case maxHorizon = "max_horizon"
        case lastDate = "last_date"
    }

    /// Inputs per step: lags, windows, then weekday, month, day of month, day of year.
    public var inputWidth: Int { lags.count + windows.count + 4 }

    /// The inputs' names, in order (what an explanation's contributions are over).
    public var inputNames: [String] {
        lags.map { "lag_\($0)" } + windows.map { "mean_\($0)" } + ["weekday", "month", "day_of_month", "day_of_year"]
    }
    /// Values of history the inputs look back over.
    var lookBack: Int { max(lags.max() ?? 1, windows.max() ?? 1) }

    /// The inputs for the value on `day`, given the values before it (oldest first).
    static func inputs(lags: [Int], windows: [Int], before values: ArraySlice<Double>, day: CalendarDay) -> [Double] {
        var row: [Double] = []
        row.reserveCapacity(lags.count + windows.count + 4)
        let end = values.endIndex
        for lag in lags { row.append(values[end - lag]) }
        for window in windows {
            var sum = 0.0
            for index in (end - window)..<end { sum += values[index] }
            row.append(sum / Double(window))
        }
        let (_, month, dayOfMonth) = day.components
        row += [Double(day.weekday), Double(month), Double(dayOfMonth), Double(day.dayOfYear)]
        return row
    }

    /// Predicts `horizon` steps after `lastDate`, each from the ones before.
    public func forecast(horizon: Int, predict: ([Double]) -> Double) -> [(date: String, value: Double)] {
        guard let last = CalendarDay(lastDate) else { return [] }
        return Self.recursive(
            history: history, after: last, step: step, count: horizon, lags: lags, windows: windows, predict: predict
        ).map { ($0.day.description, $0.value) }
    }

    static func recursive(
        history: [Double], after last: CalendarDay, step: Int, count: Int, lags: [Int], windows: [Int],
        predict: ([Double]) -> Double
    ) -> [(day: CalendarDay, value: Double)] {
        var values = history
        var results: [(day: CalendarDay, value: Double)] = []
        for index in 1...max(1, count) where index <= count {
            let day = CalendarDay(ordinal: last.ordinal + index * step)
            let value = predict(inputs(lags: lags, windows: windows, before: values[...], day: day))
            values.append(value)
            results.append((day, value))
        }
        return results
    }
}

/// A dated series read from a table.
struct DatedSeries {
    var days: [CalendarDay]
    var values: [Double]

    /// Reads `date` and `target` columns, sorted by date; bad rows are reported together by line.
    init(table: CSVTable, dateColumn: String, target: String, file: String) throws {
        guard let dateIndex = table.column(dateColumn) else {
            throw DataProblem(problem: "\(file): has no date column \"\(dateColumn)\" (forecast.date)")
        }
        guard let targetIndex = table.column(target) else {
            throw DataProblem(problem: "\(file): has no target column \"\(target)\"")
        }
        let (numbers, _) = table.numbers(column: targetIndex)
        var pairs: [(CalendarDay, Double)] = []
        var problems: [String] = []
        var badRows = 0
        for row in 0..<table.rowCount {
            let text = table.field(row: row, column: dateIndex)
            let day = CalendarDay(text)
            if day == nil || !numbers[row].isFinite {
                badRows += 1
                if problems.count < 10 {
                    let what =
                        day == nil
                        ? "\(dateColumn) \"\(text)\" is not a date (YYYY-MM-DD)"
                        : "\(target) \"\(table.field(row: row, column: targetIndex))\" is not a number"
                    problems.append("line \(table.line(ofRow: row)): \(what)")
                }
                continue
            }
            pairs.append((day!, numbers[row]))
        }
        if badRows > 0 {
            throw DataProblem(
                problem: "\(file): \(badRows) of \(table.rowCount) rows are invalid: "
                    + problems.joined(separator: " | ") + (badRows > problems.count ? " | …" : ""))
        }
        pairs.sort { $0.0 < $1.0 }
        days = pairs.map(\.0)
        values = pairs.map(\.1)
    }

    /// The common spacing in days; the series must be regular (no gaps, no duplicates).
    func step(file: String) throws -> Int {
        guard days.count >= 2 else { throw DataProblem(problem: "\(file): a forecast needs at least 2 dated rows") }
        let step = days[1].ordinal - days[0].ordinal
        for index in 1..<days.count where days[index].ordinal - days[index - 1].ordinal != step {
            let gap = days[index].ordinal - days[index - 1].ordinal
            throw DataProblem(
                problem:
                    "\(file): dates must be evenly spaced (every \(step) days from \(days[0])), but \(days[index - 1]) is followed by \(days[index])"
                    + (gap == 0 ? " (a duplicate date)" : ""))
        }
        guard step > 0 else { throw DataProblem(problem: "\(file): \(days[0]) appears twice") }
        return step
    }
}
