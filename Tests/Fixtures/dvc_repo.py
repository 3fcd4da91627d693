#!/usr/bin/env python3
"""Makes a git repository whose data files are tracked by the real DVC and pushed to a remote.

    dvc_repo.py --dvc PATH --repo DIR --remote URL --track FILE [--track FILE...]
                [--endpoint URL --access-key K --secret-key S] [--stage NAME OUT CMD...]
                [--message MSG]

--repo is a git work tree; when DIR has no .git, the script runs `git init` there and
configures a fixture committer (an existing repository must have user.name/user.email).
Each --track FILE (relative to DIR) must already exist. The script runs, in DIR:

    dvc init                                          (unless DIR/.dvc exists)
    dvc remote add -d -f storage URL
    dvc remote modify storage endpointurl E           (with --endpoint)
    dvc remote modify --local storage access_key_id K       (into .dvc/config.local,
    dvc remote modify --local storage secret_access_key S    which .dvc/.gitignore ignores)
    dvc add FILE...
    dvc stage add -n NAME -o OUT CMD; dvc repro       (each --stage; no deps declared)
    dvc push
    git add -- .dvc/config .dvc/.gitignore .dvcignore FILE.dvc... DIR-OF-FILE/.gitignore...
               [dvc.yaml dvc.lock]
    git commit -q -m MSG

--remote is `s3://bucket/prefix` or a local directory; a relative one is taken relative to
DIR (dvc stores it in .dvc/config relative to .dvc/, where it resolves it). Credentials are
never committed. DVC's analytics are off, and its per-repository state (its "site cache",
by default under /var/tmp/dvc) is kept in DIR/.dvc/tmp. Silent on success; on failure
prints the failing command and its output (dvc's error) to stderr and exits with its status.
"""
import argparse
import os
import subprocess
import sys


def run(argv, cwd, env):
    done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.stderr.write(f"dvc_repo.py: `{' '.join(argv)}` exited {done.returncode}\n"
                         f"{done.stdout}{done.stderr}")
        sys.exit(done.returncode)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dvc", required=True, help="the dvc executable")
    parser.add_argument("--repo", required=True, help="git work tree (git init'ed if it is not one)")
    parser.add_argument("--remote", required=True, help="s3://bucket/prefix or a directory")
    parser.add_argument("--endpoint", help="S3 endpoint URL (endpointurl)")
    parser.add_argument("--access-key")
    parser.add_argument("--secret-key")
    parser.add_argument("--track", action="append", default=[], metavar="FILE")
    parser.add_argument("--stage", nargs=3, action="append", default=[], metavar=("NAME", "OUT", "CMD"))
    parser.add_argument("--message", default="Track data with DVC")
    args = parser.parse_args()
    if not args.track and not args.stage:
        parser.error("give at least one --track or --stage")
    if (args.access_key is None) != (args.secret_key is None):
        parser.error("--access-key and --secret-key go together")

    repo = os.path.abspath(args.repo)
    env = dict(os.environ, DVC_NO_ANALYTICS="1", DVC_SITE_CACHE_DIR=os.path.join(repo, ".dvc", "tmp", "site"))
    dvc = [os.path.abspath(args.dvc)] if os.sep in args.dvc else [args.dvc]
    if not os.path.isdir(os.path.join(repo, ".git")):
        os.makedirs(repo, exist_ok=True)
        run(["git", "init", "-q"], repo, env)
        run(["git", "config", "user.name", "Conveyor Tests"], repo, env)
        run(["git", "config", "user.email", "tests@conveyor.invalid"], repo, env)
    for path in args.track:
        if not os.path.isfile(os.path.join(repo, path)):
            sys.exit(f"dvc_repo.py: no file {path} in {repo}")

    if not os.path.isdir(os.path.join(repo, ".dvc")):
        run(dvc + ["init"], repo, env)
    run(dvc + ["remote", "add", "-d", "-f", "storage", args.remote], repo, env)
    if args.endpoint:
        run(dvc + ["remote", "modify", "storage", "endpointurl", args.endpoint], repo, env)
    if args.access_key is not None:
        run(dvc + ["remote", "modify", "--local", "storage", "access_key_id", args.access_key], repo, env)
        run(dvc + ["remote", "modify", "--local", "storage", "secret_access_key", args.secret_key], repo, env)
    if args.track:
        run(dvc + ["add"] + args.track, repo, env)
    for name, out, command in args.stage:
        run(dvc + ["stage", "add", "-n", name, "-o", out, command], repo, env)
    if args.stage:
        run(dvc + ["repro"], repo, env)
    run(dvc + ["push"], repo, env)

    paths = [".dvc/config", ".dvc/.gitignore", ".dvcignore"] + [p + ".dvc" for p in args.track]
    if args.stage:
        paths += ["dvc.yaml", "dvc.lock"]
    for path in args.track + [out for _, out, _ in args.stage]:
        ignore = os.path.join(os.path.dirname(path), ".gitignore")
        if ignore not in paths and os.path.exists(os.path.join(repo, ignore)):
            paths.append(ignore)
    run(["git", "add", "--"] + paths, repo, env)
    run(["git", "commit", "-m", args.message], repo, env)


if __name__ == "__main__":
    main()
