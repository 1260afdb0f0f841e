# Runs a command in a real pseudo-terminal and types Ctrl-C (byte 0x03) into
# it once its output contains a trigger, as an operator at a terminal would:
# the terminal's line discipline turns it into SIGINT for the foreground
# process group. Prints one JSON line: the exit code and everything the
# terminal showed (stdout and stderr share a terminal).
#
# usage: python3 pty-run.py TRIGGER COLUMNS TIMEOUT_S -- COMMAND ARGS...
import fcntl
import json
import os
import pty
import select
import struct
import sys
import termios
import time

trigger = sys.argv[1].encode()
columns = int(sys.argv[2])
timeout = float(sys.argv[3])
argv = sys.argv[sys.argv.index("--") + 1 :]

pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)

fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
output = b""
sent = False
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break  # EIO: the child closed the terminal
        if not chunk:
            break
        output += chunk
    if not sent and trigger in output:
        os.write(fd, b"\x03")
        sent = True
else:
    os.kill(pid, 9)

_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"code": code, "sent": sent, "output": output.decode("utf-8", "replace")}))
