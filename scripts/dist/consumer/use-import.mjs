// The ES module consumer: named imports from 'sockclose', used on real sockets; the namespace must
// match the CommonJS exports one for one (same functions, not copies).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import sockclose, {
  capabilities,
  closeWouldReset,
  ErrorCodes,
  getLinger,
  hardReset,
  inspectSocket,
  peekSocketError,
  setLinger,
  shutdownWrite,
  socketFd,
  takeSocketError,
} from 'sockclose';
import * as namespace from 'sockclose';

const require = createRequire(import.meta.url);
const cjs = require('sockclose');
const { exercise } = require('./exercise.cjs');

assert.equal(sockclose, cjs, 'the default export is the CommonJS module');
for (const name of Object.keys(cjs)) assert.equal(namespace[name], cjs[name], `named export ${name}`);

const api = { capabilities, closeWouldReset, ErrorCodes, getLinger, hardReset, inspectSocket, peekSocketError, setLinger, shutdownWrite, socketFd, takeSocketError };
const report = await exercise(api, { expectBinary: process.env.EXPECT_BINARY });
console.log(JSON.stringify({ ...report, loader: 'import', namedExports: Object.keys(namespace).filter((name) => name !== 'default').length }));
