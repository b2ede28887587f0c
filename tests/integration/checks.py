"""What the Python checkers print, one line per check, for lib.sh's
ts_run_checks: "ok NAME (detail)" or "FAIL NAME: detail". status() is
the exit status: 1 once any check failed."""

_failed = 0


def check(name, cond, detail=""):
    global _failed
    if cond:
        print("ok %s%s" % (name, " (%s)" % detail if detail else ""), flush=True)
    else:
        _failed += 1
        print("FAIL %s: %s" % (name, detail or "failed"), flush=True)
    return bool(cond)


def fail(name, detail=""):
    check(name, False, detail)


def status():
    return 1 if _failed else 0
