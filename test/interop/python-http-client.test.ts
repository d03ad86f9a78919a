// Python's http.client → Node, a 4 MB POST answered 413 unread: http.client sends the whole
// body before it reads any response. With enableLingeringClose the server drains the upload, so
// every upload completes and http.client reads the 413 whole. Plain Node resets the connection
// under the upload: BrokenPipeError (or ConnectionResetError) for 17–20 of 20 here (the
// notes: 100 %), the control asserted below.
import { describe, expect, it } from 'vitest';

import { cleanupAfterEach } from './cleanup.js';
import { expectAllWhole, failures, reportControl, type Seen } from './outcomes.js';
import { pythonUploads } from './python-client.js';
import { requireTool } from './tools.js';
import { startUploadServer, TOO_LARGE_BODY } from './upload-server.js';

const REQUESTS = 20;
const CONCURRENCY = 4;
const UPLOAD = 4 * 1024 * 1024;

const cleanup = cleanupAfterEach();

async function uploads(lingering: boolean): Promise<Seen[]> {
  const python = requireTool('python3');
  const server = await startUploadServer('too-large', lingering);
  cleanup.add(() => server.close());
  const seen = await pythonUploads(python, server.port, UPLOAD, REQUESTS, CONCURRENCY);
  expect(server.requests(), 'requests the server answered').toBe(REQUESTS);
  if (lingering) console.log('[interop] Python http.client: lingering closes ended', await server.lingerReasons());
  return seen;
}

describe('Python http.client → Node, 4 MB POST answered 413 unread', () => {
  it('with enableLingeringClose: every upload completes and the 413 is read whole', async () => {
    expectAllWhole(await uploads(true), 413, TOO_LARGE_BODY);
  });

  it('plain Node (control): the upload fails under the reset', async () => {
    const seen = await uploads(false);
    reportControl('Python http.client, plain Node', seen, 413, TOO_LARGE_BODY);
    // Nearly every one; asserted as at least one, like the other controls.
    expect(failures(seen, 413, TOO_LARGE_BODY).length, 'uploads failed without lingering close').toBeGreaterThan(0);
    expect(seen.map((one) => one.error?.split(':')[0]).filter(Boolean), 'the errors http.client raised').toEqual(
      expect.arrayContaining([expect.stringMatching(/^(BrokenPipeError|ConnectionResetError)$/)]),
    );
  });
});
