"""Measuring helpers shared by the bench scripts (standard library only)."""
import os


def cpu(cmd, n=7):
    """Least CPU time (user + sys, microsecond resolution from wait4) of n runs of cmd, its output
    discarded: on a shared machine wall time also measures the neighbours."""
    least = None
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.execv(cmd[0], cmd)
        _, _, ru = os.wait4(pid, 0)
        c = ru.ru_utime + ru.ru_stime
        least = c if least is None else min(least, c)
    return least
