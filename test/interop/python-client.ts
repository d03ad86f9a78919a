// Uploads with Python's http.client (fixtures/http_client_uploads.py): one Python process runs
// them all, a few at a time in threads (a process per upload would spend more time starting
// Python than uploading).
import path from 'node:path';

import { runChild } from './children.js';
import type { Seen } from './outcomes.js';

const SCRIPT = path.join(import.meta.dirname, 'fixtures', 'http_client_uploads.py');

/** POSTs `size` bytes to 127.0.0.1:`port`, `count` times, `concurrency` at once: what http.client saw, in order. */
export async function pythonUploads(python: string, port: number, size: number, count: number, concurrency: number): Promise<Seen[]> {
  // Each upload has a 6 s socket timeout (per blocking call); the whole run is bounded above that.
  const timeoutMs = 6000 * Math.ceil(count / concurrency) + 5000;
  const done = await runChild(python, [SCRIPT, String(port), String(size), String(count), String(concurrency)], timeoutMs, 'the Python http.client uploads');
  if (done.code !== 0) throw new Error(`http_client_uploads.py exited with ${done.code ?? done.signal}: ${done.stderr}`);
  return JSON.parse(done.stdout) as Seen[];
}
