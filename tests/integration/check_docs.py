#!/usr/bin/python3
"""Docs cannot rot: every implemented option of src/server/config_opts.c
(every row that is not UNSUP/UNSUPV or NOOP) must be documented in
docs/man/turnstone.conf.5 and listed in packaging/turnstone.conf.example;
neither may name an option the table lacks; every NOOP flag is named in
the man page. With a binary, each commented option line of the example
must pass --check-config when uncommented (with the options it needs).

    check_docs.py SRC_DIR [TURNSTONE_BIN]

Prints "ok ..." / "FAIL ..." lines (lib.sh ts_run_checks)."""
import os
import re
import subprocess
import sys
import tempfile

failed = 0


def check(name, cond, detail=""):
    global failed
    if cond:
        print("ok %s" % name)
    else:
        failed += 1
        print("FAIL %s: %s" % (name, detail or "failed"))


def table_options(path):
    """(implemented, noop) option names from the C table."""
    src = open(path).read()
    body = src[src.index("cfg_opts[] = {"):src.index("};", src.index("cfg_opts[] = {"))]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    impl, noop = set(), set()
    for kind, name in re.findall(r"\b(FLAG|STR|NUM|NUMOPT|NOOP|UNSUP|UNSUPV)\(\s*\"([^\"]+)\"", body):
        if kind == "NOOP":
            noop.add(name)
        elif kind not in ("UNSUP", "UNSUPV"):
            impl.add(name)
    for row in re.findall(r"\{\s*\.name\s*=\s*\"([^\"]+)\"", body):
        impl.add(row)
    return impl, noop


def roff_text(s):
    return s.replace("\\-", "-").replace("\\(dq", '"').replace("\\&", "")


def man_options(path):
    """Option headings: the first word of the line after each .TP in the
    sections before ACCEPTED AND IGNORED."""
    lines = open(path).read().splitlines()
    heads, prev = set(), ""
    for line in lines:
        if line.startswith(".SH") and "ACCEPTED" in line:
            break
        if prev == ".TP" and re.match(r"\.B[IR]? ", line):
            word = roff_text(line.split(None, 1)[1]).strip('"').split()[0]
            heads.add(word)
        prev = line
    return heads, roff_text(open(path).read())


KEY = re.compile(r"^#?([A-Za-z][A-Za-z0-9_-]*)(?:=(.*)|\s*)$")


def example_options(path):
    """{key: [line numbers]} of option lines, commented or not."""
    keys = {}
    for i, line in enumerate(open(path).read().splitlines()):
        m = KEY.match(line)
        if m:
            keys.setdefault(m.group(1), []).append(i)
    return keys


# What an option needs to pass validation on its own.
NEEDS = {
    "no-turn": ["api-listening-port", "db", "api-turn-server"],
    "no-udp": [], "no-tcp": [],
    "cert": ["pkey"], "pkey": ["cert"], "CA-file": ["cert", "pkey"], "ca-file": ["cert", "pkey"],
    "bps-capacity": ["max-bps"],
    "syslog-facility": ["syslog"], "no-stdout-log": ["syslog"],
    "daemon": ["syslog"], "tls-alternate-server": ["alternate-domain"],
    "dh-file": ["cert", "pkey"], "ec-curve-name": ["cert", "pkey"],
    "pkey-pwd": ["cert", "pkey"],
    "cipher-list": ["cert", "pkey"], "no-tlsv1_2": ["cert", "pkey"],
    "api-cert": ["api-pkey"], "api-pkey": ["api-cert"],
    "alt-listening-port": ["listening-ip"],
    "tcp-proxy-trusted": ["tcp-proxy-port"],
    "revoked-from": ["use-auth-secret"],
    "revoked-interval": ["revoked-from", "use-auth-secret"],
    "revoked-ca-file": ["revoked-from", "use-auth-secret"],
}


def uncomment(lines, keys, names):
    out = list(lines)
    for n in names:
        for i in keys.get(n, []):
            out[i] = out[i].lstrip("#")
    return out


def example_lines_valid(binary, example, keys):
    lines = open(example).read().splitlines()
    tmp = tempfile.mkdtemp(prefix="ts_docs.")
    token = os.path.join(tmp, "admin-token")
    with open(token, "w") as f:
        f.write("docs-test-admin-token-0123456789\n")
    os.chmod(token, 0o600)
    # A real key pair for cert/pkey/CA-file: --check-config loads them.
    crt, key = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
                    crt, "-days", "1", "-subj", "/CN=docs"], check=True,
                   capture_output=True, timeout=30)
    dh = os.path.join(tmp, "dh.pem")
    subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", "DH",
                    "-pkeyopt", "dh_param:ffdhe2048", "-out", dh], check=True,
                   capture_output=True, timeout=30)
    # A coturn user database for userdb: --check-config reads it.
    turndb = os.path.join(tmp, "turndb")
    import sqlite3
    db = sqlite3.connect(turndb)
    db.execute("CREATE TABLE turnusers_lt (realm varchar(127) default '', "
               "name varchar(512), hmackey char(128), PRIMARY KEY (realm,name))")
    db.commit()
    db.close()
    files = {"/etc/turnstone/cert.pem": crt, "/etc/turnstone/key.pem": key,
             "/etc/turnstone/clients-ca.pem": crt, "/etc/turnstone/dhparam.pem": dh,
             "/etc/turnstone/api-ca.pem": crt,
             "/var/lib/turn/turndb": turndb,
             # --check-config sees whether these could be opened.
             "/var/log/turnstone/turnstone.log": os.path.join(tmp, "ts.log"),
             "/var/log/turnstone/usage.jsonl": os.path.join(tmp, "usage.jsonl")}
    bad = []
    for key, idx in sorted(keys.items()):
        if not all(lines[i].startswith("#") for i in idx):
            continue
        names = [key] + NEEDS.get(key, [])
        if key.startswith("api-") or key in ("db", "no-turn"):
            names += ["api-listening-port", "db"]
        text = uncomment(lines, keys, names)
        text = [l.replace("/var/lib/turnstone/accounts.db", os.path.join(tmp, "a.db"))
                 .replace("/etc/turnstone/admin-token", token) for l in text]
        for old, new in files.items():
            text = [l.replace(old, new) for l in text]
        conf = os.path.join(tmp, "t.conf")
        with open(conf, "w") as f:
            f.write("\n".join(text) + "\n")
        r = subprocess.run([binary, "serve", "--check-config", "-c", conf,
                            "--static-auth-secret", "docs-test"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            bad.append("%s: %s" % (key, r.stderr.strip()))
    for p in os.listdir(tmp):
        os.unlink(os.path.join(tmp, p))
    os.rmdir(tmp)
    check("each commented example option passes --check-config when set",
          not bad, "; ".join(bad))


def main(argv):
    src = argv[1]
    impl, noop = table_options(os.path.join(src, "src/server/config_opts.c"))
    check("the option table parses (%d options, %d no-ops)" % (len(impl), len(noop)),
          len(impl) > 40 and len(noop) > 5, repr(sorted(impl)))
    man = os.path.join(src, "docs/man/turnstone.conf.5")
    heads, text = man_options(man)
    heads.discard("-c")
    check("turnstone.conf.5 documents every option", impl <= heads,
          "missing: %s" % sorted(impl - heads))
    check("turnstone.conf.5 documents no unknown option", heads <= impl,
          "unknown: %s" % sorted(heads - impl))
    missing = [n for n in noop if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(n), text)]
    check("turnstone.conf.5 names every accepted no-op flag", not missing,
          "missing: %s" % missing)
    example = os.path.join(src, "packaging/turnstone.conf.example")
    keys = example_options(example)
    check("turnstone.conf.example lists every option", impl <= set(keys),
          "missing: %s" % sorted(impl - set(keys)))
    check("turnstone.conf.example lists no unknown option", set(keys) <= impl,
          "unknown: %s" % sorted(set(keys) - impl))
    if len(argv) > 2:
        example_lines_valid(argv[2], example, keys)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
