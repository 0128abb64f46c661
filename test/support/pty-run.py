#!/usr/bin/env python3
"""Runs a command in a pseudo-terminal of a given size, as a user at a terminal would.

Usage: pty-run.py COLS ROWS INTERRUPT STDOUT -- CMD ARGS...
INTERRUPT: "none", "after:<text>": once <text> appeared in the terminal output (e.g. a
progress frame), or "afterbytes:<n>": once the STDOUT file holds n bytes, type Ctrl-C
(byte 0x03: the terminal sends SIGINT to the foreground process group, as a real
keypress does). STDOUT: "-" (the terminal) or a file the command's stdout goes to.

Prints one JSON object: {"exit": N | null, "signal": N | null, "output": "...",
"interruptedAtMs": N | null, "exitedAtMs": N}. Uses only the standard library (no
node-pty: that needs a native build)."""
import json, os, pty, select, signal, struct, sys, time, fcntl, termios

def main():
    cols, rows, interrupt, stdout = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    cmd = sys.argv[sys.argv.index('--') + 1:]
    trigger = interrupt[len('after:'):].encode() if interrupt.startswith('after:') else None
    min_bytes = int(interrupt[len('afterbytes:'):]) if interrupt.startswith('afterbytes:') else None
    pid, fd = pty.fork()
    if pid == 0:
        if stdout != '-':
            out_fd = os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out_fd, 1)
        os.execvp(cmd[0], cmd)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    start = time.monotonic()
    out = b''
    interrupted_at = None
    deadline = start + 120
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        ready = (trigger is not None and trigger in out) or (min_bytes is not None and os.path.exists(stdout) and os.path.getsize(stdout) >= min_bytes)
        if ready and interrupted_at is None:
            os.write(fd, b'\x03')
            interrupted_at = time.monotonic()
    _, status = os.waitpid(pid, 0)
    exited = time.monotonic()
    print(json.dumps({
        'exit': os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        'signal': os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        'output': out.decode('utf-8', 'replace'),
        'interruptedAtMs': None if interrupted_at is None else round((interrupted_at - start) * 1000),
        'exitedAtMs': round((exited - start) * 1000),
    }))

main()
