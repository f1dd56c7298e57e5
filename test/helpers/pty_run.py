#!/usr/bin/env python3
"""Runs a command in a fresh pseudo-terminal and plays a script against it, as a user would.

Usage: pty_run.py SCRIPT_JSON -- COMMAND [ARGS...]

SCRIPT_JSON is a list of steps:
  {"expect": "REGEX", "timeout": 10}  wait until the output (since the last match) matches
  {"send": "TEXT"}                      type TEXT (may hold control characters)
  {"sendEach": "TEXT", "delay": 0.05}   type TEXT one byte at a time, pausing between
  {"resize": [ROWS, COLS]}              resize the terminal (the client gets SIGWINCH)
  {"signal": "INT"}                     send a signal to the client process
  {"sleep": 0.5}                        wait
  {"close": true}                       hang up: close the terminal's master
  {"echoBench": 1000}                   write N bytes one at a time, each read back before the
                                        next (an echoing process inside); reports seconds
The terminal starts at "rows"/"cols" of the first step {"size": [ROWS, COLS]} (default 24x80).

Prints one JSON object: {"exit": CODE (128+N when killed by signal N), "output": TEXT,
"failed": null or the step that timed out, "termiosSame": whether the terminal's settings
(`stty -g`) were the same after the command as before, "bench": seconds or null}.
"""
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    sep = sys.argv.index("--")
    steps = json.loads(sys.argv[1])
    command = sys.argv[sep + 1:]
    rows, cols = 24, 80
    if steps and "size" in steps[0]:
        rows, cols = steps[0]["size"]
        steps = steps[1:]
    master, slave = pty.openpty()
    set_size(slave, rows, cols)
    before = termios.tcgetattr(slave)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        os.close(master)
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        os.execvp(command[0], command)
    output = b""
    seen = 0
    failed = None
    bench = None
    status = None

    def pump(timeout):
        nonlocal output
        r, _, _ = select.select([master], [], [], timeout)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            output += data
            return len(data) > 0
        return False

    for step in steps:
        if "expect" in step:
            deadline = time.time() + step.get("timeout", 15)
            pattern = re.compile(step["expect"].encode(), re.S)
            while True:
                m = pattern.search(output, seen)
                if m:
                    seen = m.end()
                    break
                if time.time() > deadline:
                    failed = step
                    break
                pump(0.05)
            if failed:
                break
        elif "send" in step:
            os.write(master, step["send"].encode())
        elif "sendEach" in step:
            for ch in step["sendEach"].encode():
                os.write(master, bytes([ch]))
                end = time.time() + step.get("delay", 0.05)
                while time.time() < end:
                    pump(max(0, end - time.time()))
        elif "resize" in step:
            set_size(master, step["resize"][0], step["resize"][1])
            os.kill(pid, signal.SIGWINCH)
        elif "signal" in step:
            os.kill(pid, getattr(signal, "SIG" + step["signal"]))
        elif "sleep" in step:
            end = time.time() + step["sleep"]
            while time.time() < end:
                pump(max(0, end - time.time()))
        elif "close" in step:
            os.close(master)
            master = None
            break
        elif "echoBench" in step:
            n = step["echoBench"]
            start = time.time()
            for i in range(n):
                ch = b"abcdefghijklmnopqrstuvwxyz"[i % 26:i % 26 + 1]
                os.write(master, ch)
                got = b""
                deadline = time.time() + 10
                while ch not in got:
                    r, _, _ = select.select([master], [], [], 1)
                    if r:
                        got += os.read(master, 4096)
                    if time.time() > deadline:
                        failed = step
                        break
                if failed:
                    break
                output += got
            bench = time.time() - start
            if failed:
                break

    deadline = time.time() + 30
    while master is not None and time.time() < deadline:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
        pump(0.05)
    if status is None:
        if master is None:
            _, status = os.waitpid(pid, 0)
        else:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            failed = failed or {"exit": "timed out"}
    while master is not None and pump(0.05):
        pass
    after = termios.tcgetattr(slave)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        code = 128 - code
    print(json.dumps({
        "exit": code,
        "output": output.decode("utf-8", "replace"),
        "failed": failed,
        "termiosSame": before == after,
        "bench": bench,
    }))


main()
