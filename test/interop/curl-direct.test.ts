// curl straight to the Node server: with enableLingeringClose every response arrives whole (curl
// exit 0, status and body exact), both for a 413 to a POST whose 4 MB body curl sends at once and
// for a 600,000-byte answer to a GET with a 1 MB body (also under mode 'as-needed', which must find
// that a body left unread needs a linger).
//
// Plain Node cuts the 600,000 bytes short (curl exit 56, ~128 KB received) for 11–19 of 20 here,
// idle or busy (the notes: 69–81 %): that control is asserted, and shows the RST really happens
// on this kernel. The POST's control loses 0–3 of 20 (curl exit 55; the notes: 0–6 %), because
// Linux keeps the 413 readable after the RST: counted, not asserted.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { runBounded } from './bounded-requests.js';
import { cleanupAfterEach } from './cleanup.js';
import { curlOnce, seenByCurl, uploadFile } from './curl-client.js';
import { expectAllWhole, failures, reportControl, type Seen } from './outcomes.js';
import { requireTool } from './tools.js';
import { BIG_ANSWER, startUploadServer, TOO_LARGE_BODY, type Answer } from './upload-server.js';

const REQUESTS = 20;
const CONCURRENCY = 4;

const cleanup = cleanupAfterEach();

/**
 * REQUESTS curl runs against a fresh server answering `answer`, with lingering close (in `mode`) or
 * plain. Under mode 'as-needed' every close must still have lingered: the body was never read.
 */
async function curlRuns(answer: Answer, lingering: boolean, method: 'POST' | 'GET', uploadSize: number, mode: 'always' | 'as-needed' = 'always'): Promise<Seen[]> {
  const curl = requireTool('curl');
  const dir = cleanup.tempDir('curl');
  const server = await startUploadServer(answer, lingering, mode);
  cleanup.add(() => server.close());
  const bodyFile = uploadFile(dir, uploadSize);
  const seen = await runBounded(REQUESTS, CONCURRENCY, 40_000, async (index) =>
    seenByCurl(await curlOnce(curl, { url: `http://127.0.0.1:${server.port}/upload`, bodyFile, method, outFile: path.join(dir, `response-${index}`) })),
  );
  expect(server.requests(), 'requests the server answered').toBe(REQUESTS);
  if (lingering) console.log(`[interop] curl ${method} lingering closes ended${mode === 'as-needed' ? " (mode 'as-needed')" : ''}:`, await server.lingerReasons());
  expect(server.notNeeded(), 'closes with no linger').toBe(0);
  return seen;
}

describe('curl → Node, POST of 4 MB sent at once, answered 413 unread', () => {
  it('with enableLingeringClose: every 413 arrives whole, curl exits 0', async () => {
    expectAllWhole(await curlRuns('too-large', true, 'POST', 4 * 1024 * 1024), 413, TOO_LARGE_BODY);
  });

  it('plain Node (control): losses counted, not asserted', async () => {
    reportControl('curl POST 4 MB, plain Node', await curlRuns('too-large', false, 'POST', 4 * 1024 * 1024), 413, TOO_LARGE_BODY);
  });
});

describe('curl → Node, GET with a 1 MB body, answered 600,000 bytes unread', () => {
  it('with enableLingeringClose: every answer arrives whole, curl exits 0', async () => {
    expectAllWhole(await curlRuns('big', true, 'GET', 1024 * 1024), 200, BIG_ANSWER);
  });

  it("with mode 'as-needed': the body was not read, so every close still lingers; every answer arrives whole", async () => {
    expectAllWhole(await curlRuns('big', true, 'GET', 1024 * 1024, 'as-needed'), 200, BIG_ANSWER);
  });

  it('plain Node (control): some answers are cut short', async () => {
    const seen = await curlRuns('big', false, 'GET', 1024 * 1024);
    reportControl('curl GET 1 MB → 600,000 bytes, plain Node', seen, 200, BIG_ANSWER);
    expect(failures(seen, 200, BIG_ANSWER).length, 'answers lost without lingering close').toBeGreaterThan(0);
  });
});
