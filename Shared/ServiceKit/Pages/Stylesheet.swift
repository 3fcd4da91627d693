/// The one stylesheet of every page (`/static/conveyor.css`): system fonts,
/// tables, cards, states and the inline SVG charts. No external assets.
public enum Stylesheet {
    public static let css = """
        :root{--fg:#1d232a;--muted:#5b6670;--line:#d9dee3;--bg:#f6f8fa;--accent:#2457c5;--good:#17803d;--bad:#c0392b;--warn:#b26a00}
        *{box-sizing:border-box}
        body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:#fff}
        header{display:flex;gap:1em;align-items:baseline;padding:.7em 1.5em;border-bottom:1px solid var(--line);background:var(--bg)}
        header .brand{font-weight:700;color:var(--fg);text-decoration:none}header .service{color:var(--muted)}
        header nav{display:flex;gap:1em;margin-left:auto}
        main{padding:1em 1.5em;max-width:78em}footer{padding:1em 1.5em;color:var(--muted);border-top:1px solid var(--line)}
        a{color:var(--accent)}h1{font-size:1.5em;margin:.4em 0}h2{font-size:1.15em;margin:1.4em 0 .5em}
        table{border-collapse:collapse;margin:.3em 0}td,th{padding:.3em .8em;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
        th{font-weight:600;color:var(--muted)}td.num{text-align:right;font-variant-numeric:tabular-nums}
        code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
        code{background:var(--bg);padding:0 .25em;border-radius:3px}
        pre{background:var(--bg);padding:.8em;overflow:auto;max-height:30em;border-radius:4px}
        .cards{display:flex;flex-wrap:wrap;gap:1em}.card{border:1px solid var(--line);border-radius:6px;padding:.8em 1em;min-width:16em;flex:1}
        .card h2{margin-top:0}.muted{color:var(--muted)}.small{font-size:.85em}
        .state{display:inline-block;padding:0 .5em;border-radius:1em;font-size:.85em;border:1px solid currentColor}
        .state-deployed,.state-succeeded,.state-passed,.state-ok,.state-preview{color:var(--good)}
        .state-rejected,.state-failed,.state-tripped,.state-drifted{color:var(--bad)}
        .state-rolled-back,.state-cancelled,.state-marked-bad{color:var(--warn)}
        .state-queued,.state-running,.state-live{color:var(--accent)}
        .better{color:var(--good)}.worse{color:var(--bad)}
        svg.chart{background:#fff;border:1px solid var(--line);border-radius:4px;max-width:100%;height:auto}
        .metric-chart{flex:0 1 540px}
        .features svg.chart{width:280px;height:110px}
        svg.chart text{font-size:11px;fill:var(--muted)}svg.chart .axis{stroke:var(--line)}
        svg.chart .series{fill:none;stroke:var(--accent);stroke-width:2}svg.chart .point{fill:var(--accent)}
        svg.chart .bound{stroke:var(--bad);stroke-dasharray:5 4}svg.chart .bar{fill:#8fb0ea}
        svg.chart .history{fill:none;stroke:var(--muted);stroke-width:2}svg.chart .history-point{fill:var(--muted)}
        svg.chart .forecast{fill:none;stroke:var(--accent);stroke-width:2;stroke-dasharray:4 3}svg.chart .forecast-point{fill:var(--accent)}
        svg.chart .contribution.positive{fill:#d9534f}svg.chart .contribution.negative{fill:#4a7bd0}
        form.predict label{display:block;margin:.5em 0 .1em;font-weight:600}
        form.predict label.inline{font-weight:400;margin-top:.8em}form.predict label.inline input{min-width:0}
        form.predict input,form.predict select{font:inherit;padding:.25em .4em;min-width:12em}
        .field-error{color:var(--bad);margin-left:.6em;font-size:.9em}
        .probability{display:flex;align-items:center;gap:.5em}.probability .bar{background:var(--accent);height:.9em}
        button{font:inherit;padding:.3em 1em;cursor:pointer}
        .heat td{text-align:center;min-width:3em}
        .route{border:1px solid var(--line);border-radius:6px;margin:.8em 0;padding:.4em .9em}
        .route summary{cursor:pointer}.method{display:inline-block;min-width:4.2em;font-weight:700}
        .route textarea{width:100%;min-height:6em;font-family:ui-monospace,monospace}
        """
}
