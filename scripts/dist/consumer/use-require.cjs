// The CommonJS consumer: require('sockclose') and use it on real sockets.
'use strict';
const sockclose = require('sockclose');
const { exercise } = require('./exercise.cjs');

exercise(sockclose, { expectBinary: process.env.EXPECT_BINARY }).then(
  (report) => console.log(JSON.stringify({ ...report, loader: 'require' })),
  (error) => {
    console.error(error.stack);
    process.exit(1);
  },
);
