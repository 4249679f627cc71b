// Whether a process id belongs to a running process: how leftovers of killed runs (temp files,
// staging folders named by pid) are told from those of a run still going.
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

