"""Process-tree figures for Benchmarks/mlflow-serving.sh (any python3, Linux /proc).

usage: python3 proc.py tree PID   one line per process, PID and everything under it:
                                  "pid rss_kb pss_kb cpu_seconds cmdline"
       python3 proc.py cpu PID    CPU seconds (user + system) of PID and everything under it
       python3 proc.py machine    busy and total jiffies of the whole machine
"""
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def table():
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    return stats


def tree(root):
    stats = table()
    children = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    seen, todo = [], [root] if root in stats else []
    while todo:
        pid = todo.pop(0)
        seen.append(pid)
        todo += sorted(children.get(pid, []))
    return [(pid, stats[pid][1]) for pid in seen]


def kb(pid, path, key):
    try:
        for line in open(f"/proc/{pid}/{path}"):
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


if sys.argv[1] == "tree":
    for pid, cpu in tree(int(sys.argv[2])):
        try:
            command = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        print(pid, kb(pid, "status", "VmRSS:"), kb(pid, "smaps_rollup", "Pss:"), f"{cpu:.2f}", command)
elif sys.argv[1] == "cpu":
    print(f"{sum(cpu for _, cpu in tree(int(sys.argv[2]))):.2f}")
elif sys.argv[1] == "machine":
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    print(user + nice + system + irq + softirq + steal, sum(fields))
else:
    sys.exit(__doc__)
