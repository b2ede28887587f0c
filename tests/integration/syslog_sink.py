#!/usr/bin/python3
"""A stand-in syslog daemon for test_syslog.sh: binds an AF_UNIX datagram
socket at PATH (the test's private /dev/log) and appends each message it
receives, one per line, to OUT. Runs until killed (by PID).

    syslog_sink.py PATH OUT"""
import os
import socket
import sys


def main(path, out):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    with open(out, "ab", buffering=0) as f:
        f.write(b"")  # the file exists once the socket listens
        while True:
            msg = s.recv(65536)
            f.write(msg.replace(b"\n", b" ").rstrip(b"\0") + b"\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
