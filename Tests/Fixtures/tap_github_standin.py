"""Runs singer-io's real tap-github against a loopback stand-in for GitHub.

Usage: tap_github_standin.py TAP_GITHUB_EXECUTABLE PULL_REQUESTS

Serves, on 127.0.0.1 only, the REST endpoints tap-github's pull_requests
stream and its child streams read, in GitHub's documented shapes (the
examples of docs.github.com/rest/pulls, with the rate-limit headers
tap-github insists on): the repository check (`/commits`), the pull request
list (paginated with `Link`), and each pull request's reviews, review
comments and commits. Then it runs `tap-github --discover` with
`base_url` pointing here, selects pull_requests, reviews, review_comments
and pr_commits in the catalog, runs the sync, and writes the tap's Singer
stream to stdout (its log goes to stderr). Exits with the tap's status.

Each pull request has 2 reviews, 3 review comments and 2 commits, so 40 pull
requests give 280 child records. Values are what GitHub sends, odd ones
included: a null body, a draft, non-ASCII titles and names, a label list
that is empty, a milestone on some, requested teams, reactions.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

REPO = "conveyor/example-model"
OWNER_ID = 90001
PAGE = 30


def user(login, uid, kind="User"):
    base = f"https://api.github.com/users/{login}"
    return {
        "login": login, "id": uid, "node_id": f"MDQ6VXNlcj{uid}", "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "gravatar_id": "", "url": base, "html_url": f"https://github.com/{login}", "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}", "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs", "repos_url": f"{base}/repos", "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events", "type": kind, "site_admin": False,
    }


PEOPLE = [user("ada", 101), user("grace-h", 102), user("linus", 103), user("zoë", 104), user("dependabot[bot]", 49699333, "Bot")]
ORG = user("conveyor", OWNER_ID, "Organization")


def repo():
    api = f"https://api.github.com/repos/{REPO}"
    return {
        "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "example-model", "full_name": REPO,
        "owner": ORG, "private": False, "html_url": f"https://github.com/{REPO}", "description": "Seattle weather, trained on merge",
        "fork": False, "url": api, "archive_url": f"{api}/{{archive_format}}{{/ref}}", "assignees_url": f"{api}/assignees{{/user}}",
        "blobs_url": f"{api}/git/blobs{{/sha}}", "branches_url": f"{api}/branches{{/branch}}", "comments_url": f"{api}/comments{{/number}}",
        "commits_url": f"{api}/commits{{/sha}}", "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "contents_url": f"{api}/contents/{{+path}}", "contributors_url": f"{api}/contributors", "deployments_url": f"{api}/deployments",
        "downloads_url": f"{api}/downloads", "events_url": f"{api}/events", "forks_url": f"{api}/forks",
        "git_commits_url": f"{api}/git/commits{{/sha}}", "git_refs_url": f"{api}/git/refs{{/sha}}", "git_tags_url": f"{api}/git/tags{{/sha}}",
        "git_url": f"git:github.com/{REPO}.git", "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "issue_events_url": f"{api}/issues/events{{/number}}", "issues_url": f"{api}/issues{{/number}}", "keys_url": f"{api}/keys{{/key_id}}",
        "labels_url": f"{api}/labels{{/name}}", "languages_url": f"{api}/languages", "merges_url": f"{api}/merges",
        "milestones_url": f"{api}/milestones{{/number}}", "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "pulls_url": f"{api}/pulls{{/number}}", "releases_url": f"{api}/releases{{/id}}", "ssh_url": f"git@github.com:{REPO}.git",
        "stargazers_url": f"{api}/stargazers", "statuses_url": f"{api}/statuses/{{sha}}", "subscribers_url": f"{api}/subscribers",
        "subscription_url": f"{api}/subscription", "tags_url": f"{api}/tags", "teams_url": f"{api}/teams", "trees_url": f"{api}/git/trees{{/sha}}",
        "clone_url": f"https://github.com/{REPO}.git", "mirror_url": None, "hooks_url": f"{api}/hooks", "svn_url": f"https://github.com/{REPO}",
        "homepage": None, "language": "Python", "forks_count": 3, "stargazers_count": 42, "watchers_count": 42, "size": 108,
        "default_branch": "main", "open_issues_count": 5, "is_template": False, "topics": ["mlops", "singer"], "has_issues": True,
        "has_projects": False, "has_wiki": False, "has_pages": False, "has_downloads": True, "archived": False, "disabled": False,
        "visibility": "public", "pushed_at": "2026-03-30T08:00:00Z", "created_at": "2025-11-02T10:00:00Z",
        "updated_at": "2026-03-30T08:00:01Z", "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
        "allow_rebase_merge": True, "template_repository": None, "temp_clone_token": None, "allow_squash_merge": True,
        "allow_auto_merge": False, "delete_branch_on_merge": True, "allow_merge_commit": True, "allow_forking": True,
        "subscribers_count": 4, "network_count": 3, "license": {
            "key": "mit", "name": "MIT License", "url": "https://api.github.com/licenses/mit", "spdx_id": "MIT", "node_id": "MDc6TGljZW5zZTE=",
            "html_url": "https://github.com/licenses/mit"}, "forks": 3, "open_issues": 5, "watchers": 42,
    }


def sha(n, salt):
    return f"{(n * 2654435761 + salt * 97531) % (16 ** 40):040x}"


def when(n, minutes=0):
    total = n * 97 + minutes
    return f"2026-03-{1 + (total // 1440) % 28:02d}T{(total // 60) % 24:02d}:{total % 60:02d}:00Z"


TITLES = ["Retrain on the March data", "Tune max_depth to 6", "Größere Trainingsmenge", "修正: 特徴量のスケール", "Drop the humidity feature",
          "Bump scikit-learn", "Add the wind gusts feature 🌬️", "Revert \"Tune max_depth\"", "Docs: explain the gates", "Faster CSV read"]
LABELS = [
    {"id": 208045946, "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=", "url": f"https://api.github.com/repos/{REPO}/labels/model",
     "name": "model", "description": "Changes the trained model", "color": "f29513", "default": False},
    {"id": 208045947, "node_id": "MDU6TGFiZWwyMDgwNDU5NDc=", "url": f"https://api.github.com/repos/{REPO}/labels/bug",
     "name": "bug", "description": "Something isn't working", "color": "d73a4a", "default": True},
]


def pull(n):
    api = f"https://api.github.com/repos/{REPO}"
    author = PEOPLE[n % len(PEOPLE)]
    merged = n % 3 != 0
    closed = merged or n % 7 == 0
    head_sha, base_sha = sha(n, 1), sha(n, 2)
    return {
        "url": f"{api}/pulls/{n}", "id": 1000000 + n, "node_id": f"MDExOlB1bGxSZXF1ZXN0{n}",
        "html_url": f"https://github.com/{REPO}/pull/{n}", "diff_url": f"https://github.com/{REPO}/pull/{n}.diff",
        "patch_url": f"https://github.com/{REPO}/pull/{n}.patch", "issue_url": f"{api}/issues/{n}",
        "commits_url": f"{api}/pulls/{n}/commits", "review_comments_url": f"{api}/pulls/{n}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}", "comments_url": f"{api}/issues/{n}/comments",
        "statuses_url": f"{api}/statuses/{head_sha}", "number": n, "state": "closed" if closed else "open", "locked": n == 5,
        "title": f"{TITLES[n % len(TITLES)]} (#{n})", "user": author,
        "body": None if n % 4 == 0 else f"Part {n} of the plan.\n\n- [x] trained\n- [ ] reviewed \"twice\"",
        "labels": [] if n % 5 == 0 else LABELS[: 1 + n % 2],
        "milestone": None if n % 6 else {
            "url": f"{api}/milestones/1", "html_url": f"https://github.com/{REPO}/milestone/1", "labels_url": f"{api}/milestones/1/labels",
            "id": 1002604, "node_id": "MDk6TWlsZXN0b25lMTAwMjYwNA==", "number": 1, "state": "open", "title": "v1.0",
            "description": "Tracking milestone for version 1.0", "creator": PEOPLE[0], "open_issues": 4, "closed_issues": 8,
            "created_at": "2026-01-10T02:39:35Z", "updated_at": "2026-03-14T23:39:01Z", "closed_at": None, "due_on": "2026-06-01T07:00:00Z"},
        "active_lock_reason": "too heated" if n == 5 else None, "created_at": when(n), "updated_at": when(n, 45),
        "closed_at": when(n, 40) if closed else None, "merged_at": when(n, 40) if merged else None,
        "merge_commit_sha": sha(n, 3) if merged else None, "assignee": PEOPLE[(n + 1) % len(PEOPLE)] if n % 2 else None,
        "assignees": [PEOPLE[(n + 1) % len(PEOPLE)]] if n % 2 else [], "requested_reviewers": [PEOPLE[(n + 2) % len(PEOPLE)]],
        "requested_teams": [] if n % 3 else [{
            "id": 1, "node_id": "MDQ6VGVhbTE=", "url": "https://api.github.com/teams/1", "html_url": "https://github.com/orgs/conveyor/teams/ml",
            "name": "ML", "slug": "ml", "description": "Model owners", "privacy": "closed", "permission": "admin",
            "members_url": "https://api.github.com/teams/1/members{/member}", "repositories_url": "https://api.github.com/teams/1/repos",
            "parent": None}],
        "head": {"label": f"{author['login']}:feature-{n}", "ref": f"feature-{n}", "sha": head_sha, "user": author, "repo": repo()},
        "base": {"label": "conveyor:main", "ref": "main", "sha": base_sha, "user": ORG, "repo": repo()},
        "_links": {key: {"href": href} for key, href in [
            ("self", f"{api}/pulls/{n}"), ("html", f"https://github.com/{REPO}/pull/{n}"), ("issue", f"{api}/issues/{n}"),
            ("comments", f"{api}/issues/{n}/comments"), ("review_comments", f"{api}/pulls/{n}/comments"),
            ("review_comment", f"{api}/pulls/comments{{/number}}"), ("commits", f"{api}/pulls/{n}/commits"),
            ("statuses", f"{api}/statuses/{head_sha}")]},
        "author_association": "MEMBER" if n % 2 else "CONTRIBUTOR", "auto_merge": None, "draft": not closed and n % 2 == 0,
    }


def reviews(n):
    api = f"https://api.github.com/repos/{REPO}"
    return [{
        "id": 80000 + n * 10 + k, "node_id": f"MDE3OlB1bGxSZXF1ZXN0UmV2aWV3{n}{k}", "user": PEOPLE[(n + k + 2) % len(PEOPLE)],
        "body": ["Looks good, the gates pass.", "Please check the drift on wind — это важно."][k],
        "state": ["APPROVED", "CHANGES_REQUESTED"][k], "html_url": f"https://github.com/{REPO}/pull/{n}#pullrequestreview-{80000 + n * 10 + k}",
        "pull_request_url": f"{api}/pulls/{n}",
        "_links": {"html": {"href": f"https://github.com/{REPO}/pull/{n}#pullrequestreview-{80000 + n * 10 + k}"},
                   "pull_request": {"href": f"{api}/pulls/{n}"}},
        "submitted_at": when(n, 10 + k), "commit_id": sha(n, 1), "author_association": "COLLABORATOR",
    } for k in range(2)]


def review_comments(n):
    api = f"https://api.github.com/repos/{REPO}"
    out = []
    for k in range(3):
        cid = 90000 + n * 10 + k
        out.append({
            "url": f"{api}/pulls/comments/{cid}", "pull_request_review_id": 80000 + n * 10, "id": cid,
            "node_id": f"MDI0OlB1bGxSZXF1ZXN0UmV2aWV3Q29tbWVudD{cid}", "diff_hunk": "@@ -16,33 +16,40 @@ def train(frame):\n     model.fit(x, y)",
            "path": "train.py", "position": 1 + k, "original_position": 4 + k, "commit_id": sha(n, 1), "original_commit_id": sha(n, 4),
            "in_reply_to_id": None if k == 0 else 90000 + n * 10, "user": PEOPLE[(n + k) % len(PEOPLE)],
            "body": ["Why 6?", "Because 7 overfit: see the run.", "👍 merged after the gates"][k],
            "created_at": when(n, 20 + k), "updated_at": when(n, 30 + k), "html_url": f"https://github.com/{REPO}/pull/{n}#discussion-diff-{cid}",
            "pull_request_url": f"{api}/pulls/{n}", "author_association": "NONE",
            "_links": {"self": {"href": f"{api}/pulls/comments/{cid}"}, "html": {"href": f"https://github.com/{REPO}/pull/{n}#discussion-diff-{cid}"},
                       "pull_request": {"href": f"{api}/pulls/{n}"}},
            "start_line": None if k else 14, "original_start_line": None if k else 14, "start_side": None if k else "RIGHT",
            "line": 16 + k, "original_line": 16 + k, "side": "RIGHT",
            "reactions": {"url": f"{api}/pulls/comments/{cid}/reactions", "total_count": k, "+1": k, "-1": 0, "laugh": 0,
                          "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
        })
    return out


def commits(n):
    api = f"https://api.github.com/repos/{REPO}"
    out = []
    for k in range(2):
        digest = sha(n, 10 + k)
        person = PEOPLE[(n + k) % len(PEOPLE)]
        stamp = {"name": person["login"].title(), "email": f"{person['login']}@example.com", "date": when(n, 5 + k)}
        out.append({
            "url": f"{api}/commits/{digest}", "sha": digest, "node_id": f"MDY6Q29tbWl0{digest[:12]}",
            "html_url": f"https://github.com/{REPO}/commit/{digest}", "comments_url": f"{api}/commits/{digest}/comments",
            "commit": {"url": f"{api}/git/commits/{digest}", "author": stamp, "committer": stamp,
                       "message": f"Step {k + 1} of #{n}\n\nCo-authored-by: Zoë <zoe@example.com>", "comment_count": 0,
                       "tree": {"url": f"{api}/tree/{sha(n, 20 + k)}", "sha": sha(n, 20 + k)},
                       "verification": {"verified": k == 0, "reason": "valid" if k == 0 else "unsigned",
                                        "signature": None, "payload": None}},
            "author": person, "committer": person,
            "parents": [{"url": f"{api}/commits/{sha(n, 9 + k)}", "sha": sha(n, 9 + k), "html_url": f"https://github.com/{REPO}/commit/{sha(n, 9 + k)}"}],
        })
    return out


class Handler(BaseHTTPRequestHandler):
    pulls = []

    def log_message(self, *args):
        pass

    def send_json(self, status, body, link=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-RateLimit-Limit", "5000")
        self.send_header("X-RateLimit-Remaining", "4999")
        self.send_header("X-RateLimit-Reset", "4102444800")
        if link:
            self.send_header("Link", link)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        if parts[:3] != ["repos", *REPO.split("/")]:
            return self.send_json(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
        rest = parts[3:]
        if rest == ["commits"]:
            return self.send_json(200, [])
        if rest == ["pulls"]:
            ordered = sorted(self.pulls, key=lambda p: p["updated_at"], reverse=True)
            per_page = int(query.get("per_page", [PAGE])[0])
            page = int(query.get("page", ["1"])[0])
            link = None
            if page * per_page < len(ordered):
                host = self.headers["Host"]
                link = f'<http://{host}/repos/{REPO}/pulls?state=all&sort=updated&direction=desc&page={page + 1}>; rel="next"'
            return self.send_json(200, ordered[(page - 1) * per_page: page * per_page], link)
        if len(rest) == 3 and rest[0] == "pulls" and rest[1].isdigit():
            n = int(rest[1])
            child = {"reviews": reviews, "comments": review_comments, "commits": commits}.get(rest[2])
            if child and 1 <= n <= len(self.pulls):
                return self.send_json(200, child(n))
        return self.send_json(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})


def main():
    tap, count = sys.argv[1], int(sys.argv[2])
    Handler.pulls = [pull(n) for n in range(1, count + 1)]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    environment = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    environment["NO_PROXY"] = "*"
    with tempfile.TemporaryDirectory() as directory:
        config = os.path.join(directory, "config.json")
        with open(config, "w") as file:
            json.dump({"access_token": "loopback-only", "repository": REPO, "start_date": "2020-01-01T00:00:00Z",
                       "base_url": base, "request_timeout": 30}, file)
        discovered = subprocess.run([tap, "--config", config, "--discover"], env=environment, capture_output=True, text=True)
        if discovered.returncode != 0:
            sys.stderr.write(discovered.stderr)
            return discovered.returncode
        catalog = json.loads(discovered.stdout)
        wanted = {"pull_requests", "reviews", "review_comments", "pr_commits"}
        for stream in catalog["streams"]:
            for entry in stream["metadata"]:
                if not entry["breadcrumb"]:
                    entry["metadata"]["selected"] = stream["tap_stream_id"] in wanted
        selected = path = os.path.join(directory, "catalog.json")
        with open(path, "w") as file:
            json.dump(catalog, file)
        synced = subprocess.run([tap, "--config", config, "--properties", selected], env=environment,
                                stdout=sys.stdout, stderr=sys.stderr)
    server.shutdown()
    return synced.returncode


if __name__ == "__main__":
    sys.exit(main())
