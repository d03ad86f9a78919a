// sockclose/harness: provoke and observe every way a TCP connection can end. A fault server, a
// fault proxy with Toxiproxy-style toxics, and an observer that tells FIN from RST even where
// Node reports a reset as a clean end.
export { BEHAVIOR_NAMES, FAULT_BEHAVIORS, type BehaviorSettings, type FaultBehavior } from './behaviors.js';
export type { CloseSnapshot, EndKind, NodeView } from './close-verdict.js';
export type { EmitterOwnEvents, TypedEmitter } from './events.js';
export {
  createFaultProxy,
  type FaultProxy,
  type FaultProxyEvents,
  type FaultProxyOptions,
} from './fault-proxy.js';
export {
  createFaultServer,
  type FaultConnectionReport,
  type FaultServer,
  type FaultServerEvents,
  type FaultServerOptions,
  type FaultStep,
} from './fault-server.js';
export {
  observeClose,
  type CloseBytes,
  type CloseEvent,
  type CloseObservation,
  type CloseTimings,
  type ObserveCloseOptions,
} from './observe-close.js';
export type { AddressInput, ConnectAddressInput, Endpoint } from './options.js';
export type { FaultProtocol } from './payload.js';
export {
  probe,
  type ProbeConnectedResult,
  type ProbeConnectErrorResult,
  type ProbeOptions,
  type ProbeOutcome,
  type ProbeResult,
  type ProbeResultFields,
} from './probe.js';
export type { ProxyLinkReport, ToxicEvent } from './proxy-link.js';
export {
  parseToxic,
  formatToxic,
  TOXIC_TYPES,
  type Toxic,
  type ToxicAttributes,
  type ToxicSpec,
  type ToxicStream,
  type ToxicType,
} from './toxics.js';
