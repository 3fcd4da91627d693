"""scipy's drift statistics for a reference sample and a live sample.

Usage: drift_oracle.py REFERENCE.csv LIVE.csv NUMERIC,... CATEGORICAL,...
Prints JSON: per numeric feature ks, ks_p_value, wasserstein (divided by the
reference's population standard deviation); per categorical feature
chi_square and chi_square_p_value (expected counts from the reference's
counts plus 0.5, over the union of categories, as Conveyor documents) and
jensen_shannon (natural log).
"""
import json
import sys

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import chisquare, ks_2samp, wasserstein_distance

reference = pd.read_csv(sys.argv[1])
live = pd.read_csv(sys.argv[2])
out = {}
for name in filter(None, sys.argv[3].split(",")):
    r, l = reference[name].dropna().to_numpy(float), live[name].dropna().to_numpy(float)
    ks = ks_2samp(r, l)
    out[name] = {
        "ks": float(ks.statistic),
        "ks_p_value": float(ks.pvalue),
        "wasserstein": float(wasserstein_distance(r, l) / (r.std() or 1.0)),
    }
for name in filter(None, sys.argv[4].split(",")):
    categories = sorted(set(reference[name].dropna()) | set(live[name].dropna()))
    r = reference[name].value_counts().reindex(categories, fill_value=0).to_numpy(float)
    l = live[name].value_counts().reindex(categories, fill_value=0).to_numpy(float)
    smoothed = r + 0.5
    expected = l.sum() * smoothed / smoothed.sum()
    chi = chisquare(l, expected)
    out[name] = {
        "chi_square": float(chi.statistic),
        "chi_square_p_value": float(chi.pvalue),
        "jensen_shannon": float(jensenshannon(r, l)),
    }
print(json.dumps(out))
