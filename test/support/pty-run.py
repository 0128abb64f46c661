#!/usr/bin/env python3
"""Runs a command in a pseudo-terminal of a given size, as a user at a terminal would.

Usage: pty-run.py COLS ROWS INTERRUPT STDOUT [OPTION...] -- CMD ARGS...
INTERRUPT: "none", "after:<text>": once <text> appeared in the terminal output (e.g. a
progress frame), "afterbytes:<n>": once the STDOUT file holds n bytes, or
"afterfile:<path>": once <path> exists (a store's LOCK: the command is ready), or
"aftergrow:<path>": once <path> is larger than when first seen (a segment got a frame),
or "afterms:<n>": n ms after the start (where nothing else shows progress, e.g. --json), type
Ctrl-C (byte 0x03: the terminal sends SIGINT to the foreground process group, as a real
keypress does). STDOUT: "-" (the terminal) or a file the command's stdout goes to.
OPTION: "type:<json string>": typed at the terminal at the start, as keys are (the
terminal buffers them until the command reads; a line without its newline is still
being edited, as at a prompt).

Prints one JSON object: {"exit": N | null, "signal": N | null, "output": "...",
"interruptedAtMs": N | null, "exitedAtMs": N}. Uses only the standard library (no
node-pty: that needs a native build)."""
import json, os, pty, select, signal, struct, sys, time, fcntl, termios

def main():
    cols, rows, interrupt, stdout = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sep = sys.argv.index('--')
    cmd = sys.argv[sep + 1:]
    typed = b''.join(json.loads(o[len('type:'):]).encode() for o in sys.argv[5:sep] if o.startswith('type:'))
    wait_file = interrupt[len('afterfile:'):] if interrupt.startswith('afterfile:') else None
    grow_file = interrupt[len('aftergrow:'):] if interrupt.startswith('aftergrow:') else None
    first_size = None
    after_ms = int(interrupt[len('afterms:'):]) if interrupt.startswith('afterms:') else None
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
    if typed:
        os.write(fd, typed)
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
        if grow_file is not None and first_size is None and os.path.exists(grow_file):
            first_size = os.path.getsize(grow_file)
        grown = first_size is not None and os.path.getsize(grow_file) > first_size
        timed = after_ms is not None and (time.monotonic() - start) * 1000 >= after_ms
        ready = grown or timed or (trigger is not None and trigger in out) or (min_bytes is not None and os.path.exists(stdout) and os.path.getsize(stdout) >= min_bytes) or (wait_file is not None and os.path.exists(wait_file))
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
