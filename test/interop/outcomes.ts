// Judging a batch of responses: which ones did not arrive whole, said in one line per failure, so
// an assertion failure shows what each client saw, and a control run can print its count.
import { expect } from 'vitest';

/** A response as any client saw it: status, body, and the client's error (null: none). */
export interface Seen {
  status: number | null;
  body: Buffer | string | null;
  error: string | null;
}

/** The requests of `seen` that did not get exactly `status` and `body` without error, described. */
export function failures(seen: Seen[], status: number, body: Buffer | string): string[] {
  const want = Buffer.from(body);
  return seen.flatMap((one, index) => {
    const got = one.body === null ? Buffer.alloc(0) : Buffer.from(one.body);
    const whole = got.equals(want);
    if (one.error === null && one.status === status && whole) return [];
    const what = whole ? 'the whole body' : `${got.length} body bytes, not the ${want.length} sent`;
    return [`#${index}: status ${one.status ?? 'none'}, ${what}, error: ${one.error ?? 'none'}`];
  });
}

/** Asserts every request got the whole answer. */
export function expectAllWhole(seen: Seen[], status: number, body: Buffer | string): void {
  expect(failures(seen, status, body), `every response whole (${seen.length} requests)`).toEqual([]);
}

/** Prints a control run's count (the tests assert it only where the notes' rate makes a loss certain). */
export function reportControl(what: string, seen: Seen[], status: number, body: Buffer | string): string[] {
  const lost = failures(seen, status, body);
  console.log(`[interop control] ${what}: ${lost.length} of ${seen.length} lost${lost.length > 0 ? ` (first: ${lost[0]})` : ''}`);
  return lost;
}

/**
 * A proxy's log in a control run, judged by what holds whatever the server did: no more lines than
 * requests, and a line for every request whose client saw an HTTP status (that answer went through
 * the proxy). A client that saw nothing may have no line (a proxy logs nothing for a connection
 * that ends before it has read a request), so a shortfall is printed with every client's outcome.
 */
export function expectLoggedAnswers(seen: Seen[], loggedLines: number, proxy: string): void {
  const answered = seen.filter((one) => one.status !== null && one.status > 0).length;
  if (loggedLines !== seen.length) {
    const outcomes = seen.map((one, index) => `#${index}: status ${one.status ?? 'none'}, error: ${one.error ?? 'none'}`);
    console.log(`[interop control] ${proxy} logged ${loggedLines} of ${seen.length} requests; the clients saw:\n  ${outcomes.join('\n  ')}`);
  }
  expect(loggedLines, `${proxy}'s log: no more lines than requests`).toBeLessThanOrEqual(seen.length);
  expect(loggedLines, `${proxy}'s log: a line for each of the ${answered} requests answered with a status`).toBeGreaterThanOrEqual(answered);
}
