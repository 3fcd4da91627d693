/// `/static/dashboard.js`: the interaction the pages need and nothing more —
/// picking two versions on the timeline to compare, and the predict form
/// (submit to the JSON API, show the answer, errors beside their fields, a
/// forecast's chart, the explanation's sorted contribution bars). Text from answers is set with `textContent`, never as HTML.
enum DashboardScript {
    static let source = #"""
        "use strict";
        (function () {
          const svgNS = "http://www.w3.org/2000/svg";

          // Timeline: keep at most two versions picked; the button opens /compare.
          const button = document.getElementById("compare-picked");
          if (button) {
            const picks = Array.from(document.querySelectorAll("input.pick"));
            const picked = [];
            picks.forEach(function (box) {
              box.addEventListener("change", function () {
                const index = picked.indexOf(box);
                if (box.checked && index < 0) picked.push(box);
                if (!box.checked && index >= 0) picked.splice(index, 1);
                while (picked.length > 2) { const dropped = picked.shift(); dropped.checked = false; }
                button.disabled = picked.length !== 2;
              });
            });
            button.addEventListener("click", function () {
              if (picked.length !== 2) return;
              // Older version first (the timeline lists newest first).
              const [first, second] = picked.slice().sort(function (a, b) { return picks.indexOf(b) - picks.indexOf(a); });
              window.location.href = "/compare?a=" + encodeURIComponent(first.value) + "&b=" + encodeURIComponent(second.value);
            });
          }

          const form = document.getElementById("predict-form");
          if (!form) return;
          const result = document.getElementById("result");
          const errorBox = document.getElementById("result-error");

          function clearErrors() {
            form.querySelectorAll(".field-error").forEach(function (span) { span.textContent = ""; });
            errorBox.hidden = true;
            errorBox.textContent = "";
          }

          function body() {
            if (form.dataset.forecast === "true") {
              const horizon = form.querySelector("[name=horizon]").value;
              return { horizon: horizon === "" ? null : Number(horizon) };
            }
            const instance = {};
            form.querySelectorAll("[data-kind]").forEach(function (input) {
              if (input.dataset.kind === "bool") instance[input.name] = input.checked;
              else if (input.value === "") instance[input.name] = null;
              else if (input.dataset.kind === "number") instance[input.name] = Number(input.value);
              else instance[input.name] = input.value;
            });
            return instance;
          }

          function point(svg, x, y, cls, title) {
            const circle = document.createElementNS(svgNS, "circle");
            circle.setAttribute("cx", x.toFixed(1)); circle.setAttribute("cy", y.toFixed(1));
            circle.setAttribute("r", "3"); circle.setAttribute("class", cls);
            const tip = document.createElementNS(svgNS, "title"); tip.textContent = title; circle.appendChild(tip);
            svg.appendChild(circle);
          }

          function line(svg, points, cls) {
            if (points.length < 2) return;
            const poly = document.createElementNS(svgNS, "polyline");
            poly.setAttribute("class", cls);
            poly.setAttribute("points", points.map(function (p) { return p[0].toFixed(1) + "," + p[1].toFixed(1); }).join(" "));
            svg.appendChild(poly);
          }

          function label(svg, x, y, text, anchor) {
            const node = document.createElementNS(svgNS, "text");
            node.setAttribute("x", x); node.setAttribute("y", y); node.setAttribute("text-anchor", anchor || "middle");
            node.textContent = text; svg.appendChild(node);
          }

          // The recent history (grey) followed by the forecast (dashed).
          function forecastChart(history, forecast) {
            const all = history.concat(forecast).filter(function (p) { return p.value !== null; });
            const values = all.map(function (p) { return p.value; });
            let low = Math.min.apply(null, values), high = Math.max.apply(null, values);
            if (high - low < 1e-9) { low -= 1; high += 1; }
            const left = 52, right = 548, top = 12, bottom = 186, count = Math.max(1, all.length - 1);
            const x = function (i) { return left + (right - left) * i / count; };
            const y = function (v) { return bottom - (bottom - top) * (v - low) / (high - low); };
            const svg = document.createElementNS(svgNS, "svg");
            svg.setAttribute("class", "chart forecast-chart"); svg.setAttribute("viewBox", "0 0 560 220");
            svg.setAttribute("width", "560"); svg.setAttribute("height", "220");
            const h = history.map(function (p, i) { return [x(i), y(p.value), p]; });
            const f = forecast.map(function (p, i) { return [x(history.length + i), y(p.value), p]; });
            line(svg, h, "history"); line(svg, (h.length ? [h[h.length - 1]] : []).concat(f), "forecast");
            h.forEach(function (p) { point(svg, p[0], p[1], "history-point", p[2].date + ": " + p[2].value); });
            f.forEach(function (p) { point(svg, p[0], p[1], "forecast-point", p[2].date + ": " + p[2].value); });
            label(svg, left, 202, all.length ? all[0].date : "", "start");
            label(svg, right, 202, all.length ? all[all.length - 1].date : "", "end");
            label(svg, left - 6, top + 8, high.toFixed(1), "end"); label(svg, left - 6, bottom, low.toFixed(1), "end");
            return svg;
          }

          // Contributions sorted by size, positive to the right of the axis, negative to the left.
          function contributionChart(parts, base, title) {
            const entries = Object.keys(parts).map(function (name) { return [name, parts[name]]; })
              .sort(function (a, b) { return Math.abs(b[1]) - Math.abs(a[1]); });
            const largest = Math.max.apply(null, entries.map(function (e) { return Math.abs(e[1]); }).concat([1e-12]));
            const names = 170, width = 560, row = 22, top = 24;
            const half = (width - names - 80) / 2, axis = names + 40 + half;
            const svg = document.createElementNS(svgNS, "svg");
            const height = top + entries.length * row + 8;
            svg.setAttribute("class", "chart contribution-chart"); svg.setAttribute("viewBox", "0 0 " + width + " " + height);
            svg.setAttribute("width", String(width)); svg.setAttribute("height", String(height));
            label(svg, 0, 14, title + " · base value " + Number(base).toPrecision(6), "start");
            entries.forEach(function (entry, i) {
              const value = entry[1], length = half * Math.abs(value) / largest, y = top + i * row;
              const bar = document.createElementNS(svgNS, "rect");
              bar.setAttribute("x", (value >= 0 ? axis : axis - length).toFixed(1)); bar.setAttribute("y", String(y));
              bar.setAttribute("width", Math.max(0.5, length).toFixed(1)); bar.setAttribute("height", String(row - 6));
              bar.setAttribute("class", "contribution " + (value >= 0 ? "positive" : "negative"));
              bar.dataset.feature = entry[0]; bar.dataset.value = String(value);
              const tip = document.createElementNS(svgNS, "title"); tip.textContent = entry[0] + ": " + value; bar.appendChild(tip);
              svg.appendChild(bar);
              label(svg, names, y + row - 10, entry[0], "end");
              label(svg, value >= 0 ? axis - 4 : axis + 4, y + row - 10, (value >= 0 ? "+" : "") + value.toPrecision(3), value >= 0 ? "end" : "start");
            });
            const zero = document.createElementNS(svgNS, "line");
            zero.setAttribute("x1", String(axis)); zero.setAttribute("x2", String(axis));
            zero.setAttribute("y1", String(top - 4)); zero.setAttribute("y2", String(height - 4)); zero.setAttribute("class", "axis");
            svg.appendChild(zero);
            return svg;
          }

          function show(answer) {
            result.hidden = false;
            document.getElementById("result-version").textContent = answer.model_version || "";
            document.getElementById("result-request").textContent = answer.request_id || "";
            const value = document.getElementById("result-value");
            const probabilities = document.getElementById("result-probabilities");
            const chart = document.getElementById("result-chart");
            const contributions = document.getElementById("result-contributions");
            probabilities.textContent = ""; chart.textContent = ""; contributions.textContent = "";
            if (answer.forecast) {
              value.textContent = answer.forecast.length + " steps from " + answer.forecast[0].date;
              const history = JSON.parse(document.getElementById("history").dataset.history || "[]");
              chart.appendChild(forecastChart(history, answer.forecast));
              return;
            }
            const prediction = answer.prediction;
            if (prediction !== null && typeof prediction === "object") {
              value.textContent = prediction.label;
              Object.keys(prediction.probabilities || {}).forEach(function (name) {
                const p = prediction.probabilities[name];
                const row = document.createElement("div"); row.className = "probability"; row.dataset.class = name;
                const tag = document.createElement("span"); tag.textContent = name; tag.style.width = "8em";
                const bar = document.createElement("span"); bar.className = "bar"; bar.style.width = Math.round(p * 300) + "px";
                const share = document.createElement("span"); share.textContent = (p * 100).toFixed(1) + "%";
                row.append(tag, bar, share); probabilities.appendChild(row);
              });
              // A classifier explains each class's raw score; the chart shows the predicted class's.
              if (answer.contributions && answer.contributions[prediction.label]) {
                contributions.appendChild(contributionChart(answer.contributions[prediction.label],
                  answer.base_value[prediction.label], "why " + prediction.label));
              }
            } else {
              value.textContent = String(prediction);
              if (answer.contributions) contributions.appendChild(contributionChart(answer.contributions, answer.base_value, "why " + prediction));
            }
          }

          form.addEventListener("submit", async function (event) {
            event.preventDefault();
            clearErrors();
            try {
              const explain = document.getElementById("explain");
              const headers = { "Content-Type": "application/json", "Accept": "application/json" };
              const token = document.getElementById("prediction-token");
              if (token && token.value) headers["Authorization"] = "Bearer " + token.value;
              const endpoint = form.dataset.endpoint || "/predict";
              const response = await fetch(explain && explain.checked ? endpoint + "?explain=true" : endpoint, {
                method: "POST", headers: headers,
                body: JSON.stringify(body())
              });
              const answer = await response.json();
              if (response.ok) { show(answer); return; }
              result.hidden = true;
              const problems = (answer.error && answer.error.problems) || [];
              let placed = 0;
              problems.forEach(function (problem) {
                const span = form.querySelector('.field-error[data-field="' + CSS.escape(problem.field) + '"]');
                if (span) { span.textContent = problem.problem; placed += 1; }
              });
              if (placed < problems.length || problems.length === 0) {
                errorBox.hidden = false;
                errorBox.textContent = (answer.error && answer.error.message) || ("HTTP " + response.status);
              }
            } catch (error) {
              errorBox.hidden = false;
              errorBox.textContent = String(error);
            }
          });
        })();
        """#
}
