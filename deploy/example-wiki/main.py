"""Forecasts Seattle's daily maximum temperature: the original framework's example, rebuilt.

Conveyor imports this module and calls the four entry points of `Model`:
train(dataset) with the training days (columns date and temp_max, sorted by
date), evaluate(model, dataset) with the days after them, predict(model, horizon)
for the next `horizon` days, and info(). The model is a scikit-learn random
forest over lag features: the previous 7 days, the day two weeks before, the
7- and 14-day means, the day of the week and the season. Each predicted day
becomes a lag of the next, so one forest forecasts any horizon.
"""
import numpy as np
from sklearn.ensemble import RandomForestRegressor

HISTORY = 14  # days of history a step reads


def step_features(history, date):
    """One day's inputs from the days before it (history[-1] is the day before)."""
    day_of_year = date.dayofyear
    return [
        *history[-7:][::-1],                     # yesterday, the day before, ... a week ago
        history[-14],                            # two weeks ago
        float(np.mean(history[-7:])),
        float(np.mean(history[-14:])),
        date.dayofweek,
        np.sin(2 * np.pi * day_of_year / 365.25),
        np.cos(2 * np.pi * day_of_year / 365.25),
    ]


class Model:
    def train(self, dataset):
        values = dataset["temp_max"].to_numpy(dtype=float)
        dates = dataset["date"]
        rows = [step_features(values[t - HISTORY:t], dates.iloc[t]) for t in range(HISTORY, len(values))]
        forest = RandomForestRegressor(n_estimators=100, max_depth=12, min_samples_leaf=3, n_jobs=-1,
                                       random_state=0)
        forest.fit(np.array(rows), values[HISTORY:])
        forest.set_params(n_jobs=1)  # a forecast predicts one day at a time: threads only cost
        return {"forest": forest, "history": values[-HISTORY:], "last_date": dates.iloc[-1]}

    def predict(self, model, horizon):
        history = list(model["history"])
        forecast = []
        for step in range(1, horizon + 1):
            date = model["last_date"] + np.timedelta64(step, "D")
            value = float(model["forest"].predict(np.array([step_features(history, date)]))[0])
            forecast.append(value)
            history.append(value)
        return forecast

    def evaluate(self, model, dataset):
        error = np.array(self.predict(model, len(dataset))) - dataset["temp_max"].to_numpy(dtype=float)
        return {"rmse": float(np.sqrt(np.mean(error ** 2))), "mae": float(np.mean(np.abs(error)))}

    def info(self):
        return {
            "learner": "RandomForestRegressor",
            "trees": 100,
            "inputs": ["lags 1-7", "lag 14", "mean of 7 days", "mean of 14 days", "day of week", "season"],
            "target": "daily maximum temperature in Seattle (°C)",
        }
