// Whether this test process runs under AddressSanitizer (npm run test:asan preloads gcc's libasan).
// Freed memory then sits in ASan's quarantine (256 MiB), so RSS says nothing about leaks: memory
// checks judge descriptors and the JavaScript heap only.
export const underAsan = /libasan/.test(process.env.LD_PRELOAD ?? '');
