"""The baseline for Benchmarks/dashboard.sh: the timeline of the newest 100
runs with their pull requests and versions, as the seeds' stack would serve
it (Flask, a Jinja2 template, psycopg2), from the same database and query."""
import os

import psycopg2
from flask import Flask, render_template_string

app = Flask(__name__)
TEMPLATE = """<!doctype html><title>runs</title><table>
{% for run in runs %}<tr><td>{{ run[0] }}</td><td>#{{ run[1] }} {{ run[2] }} {{ run[3] }}</td><td>{{ run[4] }}</td>
<td>{{ run[5] }}</td><td>{{ run[6] }}</td><td>{{ run[7] }}</td></tr>{% endfor %}</table>"""
QUERY = """
SELECT t.id, t.pr_number, coalesce(mv.pr_title, p.title), coalesce(mv.pr_author, p.author), t.status, t.reason,
       t.model_version, t.created_at
FROM training_runs t
LEFT JOIN model_versions mv ON mv.version = t.model_version
LEFT JOIN LATERAL (SELECT title, user__login AS author FROM pull_requests
                   WHERE merge_commit_sha = t.merge_commit_sha LIMIT 1) p ON true
ORDER BY t.id DESC LIMIT 100
"""
connection = None


@app.get("/")
def timeline():
    global connection
    if connection is None:
        connection = psycopg2.connect(os.environ["DATABASE_URL"])
        connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(QUERY)
        return render_template_string(TEMPLATE, runs=cursor.fetchall())
