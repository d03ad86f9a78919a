// The cluster guard's warning code. (Its error, ERR_SOCKCLOSE_CLUSTER_STARTED, is in src/errors.ts
// with every other sockclose error.)

/** Warning code: code tried to switch a protected cluster back to round-robin. */
export const POLICY_PINNED = 'SOCKCLOSE_CLUSTER_POLICY_PINNED';
