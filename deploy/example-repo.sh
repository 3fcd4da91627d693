#!/usr/bin/env bash
# Builds the example model repository as a real git repository whose history
# has merged pull requests, the way GitHub records them (merge commits
# "Merge pull request #N from owner/branch"), for the sandbox to serve.
#
#   deploy/example-repo.sh init DEST        main + PR #1 merged (one feature)
#   deploy/example-repo.sh merge-next DEST  merges the next PR (#2: more features)
#   deploy/example-repo.sh bad-pr DEST      merges a PR whose model is worse (rejected by the gates)
#   deploy/example-repo.sh init-penguins DEST  main + PR #1 merged: the penguins repository that trains
#                                              its own scikit-learn pipeline (deploy/example-penguins)
#   deploy/example-repo.sh init-wiki DEST      main + PR #1 merged: a Python model (main.py with train,
#                                              predict, evaluate, info) forecasting Seattle's daily
#                                              maximum temperature (deploy/example-wiki)
#   deploy/example-repo.sh open DEST        opens the next PR without merging it (refs/pull/N/head, as
#                                           GitHub keeps an open PR's head): more features, previewed
#   deploy/example-repo.sh push DEST N      pushes another commit to open PR #N (a `synchronize`)
#   deploy/example-repo.sh merge-open DEST N  merges open PR #N as GitHub's merge button would
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/example-model"
usage="usage: example-repo.sh init|merge-next|bad-pr|init-penguins|init-wiki|open|push|merge-open DEST [N]"
cmd="${1:?$usage}"
dest="${2:?$usage}"

export GIT_AUTHOR_NAME="Dana Scientist" GIT_AUTHOR_EMAIL="dana@example.com"
export GIT_COMMITTER_NAME="Dana Scientist" GIT_COMMITTER_EMAIL="dana@example.com"
git_() { git -C "$dest" -c init.defaultBranch=main -c commit.gpgsign=false "$@"; }

# Every commit gets a date strictly after the previous one, so merge times order PRs.
stamp() {
  local now last
  now=$(date +%s)
  last=$(git_ log -1 --format=%ct 2>/dev/null || echo 0)
  ((now > last)) || now=$((last + 1))
  export GIT_AUTHOR_DATE="@$now +0000" GIT_COMMITTER_DATE="@$now +0000"
}

merge_pr() { # number branch title
  stamp
  git_ checkout -q main
  git_ merge -q --no-ff "$2" -m "Merge pull request #$1 from dana/$2" -m "$3"
}

next_number() { # after every merged PR and every open one (refs/pull/N/head)
  local last opened
  last=$(git_ log --first-parent --merges --format=%s main | sed -n 's/^Merge pull request #\([0-9]*\).*/\1/p' | head -1)
  opened=$(git_ for-each-ref --format='%(refname)' refs/pull/ | sed -n 's|^refs/pull/\([0-9]*\)/head$|\1|p' | sort -n | tail -1)
  last=${last:-0} opened=${opened:-0}
  echo $(( (last > opened ? last : opened) + 1 ))
}

case "$cmd" in
  init)
    rm -rf "$dest"; mkdir -p "$dest/data"
    git_ init -q
    cp "$src/README.md" "$src/sample-request.json" "$dest/"
    cp "$src/data/seattle-weather.csv" "$dest/data/"
    stamp; git_ add -A; git_ commit -q -m "Seattle weather data"
    git_ checkout -q -b add-model
    cp "$here/example-model-history/pr1-conveyor.yaml" "$dest/conveyor.yaml"
    stamp; git_ add -A; git_ commit -q -m "Train a linear model of temp_max on temp_min"
    merge_pr 1 add-model "Add a first temperature model"
    ;;
  init-penguins)
    rm -rf "$dest"; mkdir -p "$dest/data"
    git_ init -q
    cp "$here/example-penguins/README.md" "$dest/"
    cp "$here/example-penguins/data/"*.csv "$dest/data/"
    stamp; git_ add -A; git_ commit -q -m "Palmer penguins data"
    git_ checkout -q -b own-training
    cp "$here/example-penguins/conveyor.yaml" "$here/example-penguins/train.py" \
      "$here/example-penguins/requirements.txt" "$dest/"
    stamp; git_ add -A; git_ commit -q -m "Train a scikit-learn pipeline with our own train.py"
    merge_pr 1 own-training "Bring our own training code"
    ;;
  init-wiki)
    rm -rf "$dest"; mkdir -p "$dest/data"
    git_ init -q
    cp "$here/example-wiki/README.md" "$here/example-wiki/sample-request.json" "$dest/"
    cp "$here/example-wiki/data/"*.csv "$dest/data/"
    stamp; git_ add -A; git_ commit -q -m "Seattle daily maximum temperature"
    git_ checkout -q -b python-model
    cp "$here/example-wiki/conveyor.yaml" "$here/example-wiki/main.py" "$here/example-wiki/requirements.txt" "$dest/"
    stamp; git_ add -A; git_ commit -q -m "Forecast with our own main.py: a random forest over lag features"
    merge_pr 1 python-model "Bring our own Python model"
    ;;
  merge-next)
    n=$(next_number)
    git_ checkout -q -b "more-features-$n" main
    cp "$src/conveyor.yaml" "$dest/conveyor.yaml"
    if git_ diff --quiet; then echo "# PR $n: retrain" >> "$dest/conveyor.yaml"; fi
    stamp; git_ commit -q -am "Add precipitation, wind and weather features"
    merge_pr "$n" "more-features-$n" "Use precipitation, wind and weather"
    ;;
  bad-pr)
    n=$(next_number)
    git_ checkout -q -b "worse-model-$n" main
    sed -i 's/- {name: temp_min, type: numeric, min: -30, max: 45}/- {name: temp_min_unused, type: numeric}/' "$dest/conveyor.yaml"
    sed -i 's/^target: temp_max/target: temp_max\n# worse: temp_min dropped/' "$dest/conveyor.yaml"
    python3 - "$dest/conveyor.yaml" <<'PY'
import sys
p = sys.argv[1]
lines = [l for l in open(p) if "temp_min_unused" not in l]
open(p, "w").writelines(lines)
PY
    stamp; git_ commit -q -am "Drop temp_min"
    merge_pr "$n" "worse-model-$n" "Try without temp_min"
    ;;
  open)
    n=$(next_number)
    git_ checkout -q -b "pr-$n" main
    cp "$src/conveyor.yaml" "$dest/conveyor.yaml"
    if git_ diff --quiet; then echo "# PR $n: retrain" >> "$dest/conveyor.yaml"; fi
    stamp; git_ commit -q -am "Add precipitation, wind and weather features (PR $n)"
    git_ update-ref "refs/pull/$n/head" HEAD
    git_ checkout -q main
    git_ rev-parse "refs/pull/$n/head"; exit 0
    ;;
  push)
    n="${3:?usage: example-repo.sh push DEST N}"
    git_ checkout -q "pr-$n"
    echo "# pushed again at $(date +%s%N)" >> "$dest/conveyor.yaml"
    stamp; git_ commit -q -am "Another push"
    git_ update-ref "refs/pull/$n/head" HEAD
    git_ checkout -q main
    git_ rev-parse "refs/pull/$n/head"; exit 0
    ;;
  merge-open)
    n="${3:?usage: example-repo.sh merge-open DEST N}"
    merge_pr "$n" "pr-$n" "$(git_ log -1 --format=%s "pr-$n")"
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
git_ rev-parse HEAD
