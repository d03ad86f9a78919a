// The exit codes of the sockclose CLI: a contract for scripts, documented in docs/harness.md and
// in `sockclose --help`. Never renumber one.

export const ExitCode = {
  /** Done as asked (serve/proxy: stopped by SIGINT/SIGTERM or --count; probe: the peer closed cleanly). */
  OK: 0,
  /**
   * An unexpected failure inside sockclose; also demo where it cannot run (no native binary: the
   * one-line message says why). No code of its own: 1 was already what such a run exited with.
   */
  ERROR: 1,
  /** A bad command line: unknown command or flag, missing or malformed value. */
  USAGE: 2,
  /** probe: the peer reset the connection (RST, or FIN then RST). */
  RESET: 3,
  /** probe: the peer neither closed nor reset within --timeout. */
  TIMEOUT: 4,
  /** probe: could not connect; serve/proxy: could not listen. */
  NETWORK: 5,
  /** probe --expect: some run ended another way than expected. */
  UNEXPECTED: 6,
  /** Interrupted (SIGINT) before a finite run (probe --count, demo) completed. */
  INTERRUPTED: 130,
  /**
   * stdout's reader went away (`| head -1`) before the command had finished: serve and proxy, at
   * their next line (probe and demo write only once done, and keep their own code). What a shell
   * reports for a tool that SIGPIPE ended (128 + 13), as `yes | head -1`: a stop the user did not
   * ask for, so never 0, which would say the run was done. A command that had finished exits with
   * its own code.
   */
  OUTPUT_CLOSED: 141,
} as const;

/** The table printed by `sockclose --help`. */
export const EXIT_CODE_HELP = `Exit codes:
  0    done (probe: the peer closed cleanly with FIN; serve/proxy: stopped by a signal or --count)
  1    unexpected failure inside sockclose; demo: cannot run here (no native binary; the message
       says why)
  2    bad command line (unknown command or flag, missing or malformed value)
  3    probe: the peer reset the connection (RST, or FIN then RST)
  4    probe: the peer neither closed nor reset within --timeout
  5    probe: could not connect; serve/proxy: could not listen
  6    probe --expect: some run ended another way than expected
  130  interrupted (SIGINT) before probe --count or demo completed
  141  stdout closed (its reader went away: | head) before the command finished; serve and
       proxy stop at their next line (as a tool SIGPIPE ends)`;
