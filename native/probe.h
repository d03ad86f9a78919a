// The probe record: a flat array of doubles that the addon fills and TypeScript reads without
// allocating an object per call. -1 means "this platform cannot tell".
//
// src/native/layout.ts mirrors these slots; the addon exports their names and the loader refuses a
// binary whose list differs (which is also how a stale build is caught).
#ifndef SOCKCLOSE_PROBE_H_
#define SOCKCLOSE_PROBE_H_

namespace sockclose {

// X(enumerator, exported name)
#define SOCKCLOSE_PROBE_SLOTS(X)                                                \
  X(kSlotFamily, "family")               /* ProbeFamily */                      \
  X(kSlotType, "type")                   /* ProbeType */                        \
  X(kSlotListening, "listening")         /* 1 / 0 */                            \
  X(kSlotRevents, "revents")             /* ProbeRevents bits */                \
  X(kSlotState, "state")                 /* ProbeTcpState */                    \
  X(kSlotUnread, "unread")               /* bytes received, not yet read */     \
  X(kSlotUnsent, "unsent")               /* bytes queued, not yet sent */       \
  X(kSlotUnacked, "unacked")             /* bytes sent, not yet acknowledged */ \
  X(kSlotSendQueue, "sendQueue")         /* unsent + unacked */                 \
  X(kSlotLingerEnabled, "lingerEnabled") /* 1 / 0 */                            \
  X(kSlotLingerSeconds, "lingerSeconds")                                        \
  X(kSlotSocknameErrno, "socknameErrno") /* 0, or errno of getsockname() */     \
  X(kSlotRttMicros, "rttMicros")                                                \
  X(kSlotRetransmits, "retransmits")     /* of the segment now in flight */     \
  X(kSlotTotalRetransmits, "totalRetransmits")                                  \
  X(kSlotBackoff, "backoff")                                                    \
  X(kSlotProbes, "probes")               /* unanswered zero-window probes */    \
  X(kSlotOptions, "options")             /* negotiated options, 0 if none */    \
  X(kSlotBytesAcked, "bytesAcked")                                              \
  X(kSlotBytesReceived, "bytesReceived") /* Linux: counts a FIN as 1 */         \
  X(kSlotBytesSent, "bytesSent")                                                \
  X(kSlotSegsIn, "segsIn")                                                      \
  X(kSlotSegsOut, "segsOut")

enum ProbeSlot {
#define SOCKCLOSE_SLOT_ENUM(name, str) name,
  SOCKCLOSE_PROBE_SLOTS(SOCKCLOSE_SLOT_ENUM)
#undef SOCKCLOSE_SLOT_ENUM
      kProbeSlotCount
};

// Which groups of facts to gather; each group costs its own syscalls.
enum ProbeField : unsigned {
  kProbeDescribe = 1u << 0,  // family, type, listening
  kProbePoll = 1u << 1,      // revents
  kProbeTcp = 1u << 2,       // state and TCP counters
  kProbeUnread = 1u << 3,    // unread
  kProbeQueues = 1u << 4,    // unsent, unacked
  kProbeLinger = 1u << 5,    // lingerEnabled, lingerSeconds
  kProbeSockname = 1u << 6,  // socknameErrno; family too, if kProbeDescribe did not set it
};

enum ProbeFamily { kFamilyInet = 1, kFamilyInet6 = 2, kFamilyUnix = 3, kFamilyOther = 4 };
enum ProbeType { kTypeStream = 1, kTypeDgram = 2, kTypeOther = 3 };

enum ProbeRevents : int {
  kReventIn = 1,
  kReventOut = 2,
  kReventErr = 4,
  kReventHup = 8,
  kReventRdHup = 16,
};

// TCP states, numbered as Linux numbers them; other platforms translate into this.
enum ProbeTcpState {
  kTcpEstablished = 1,
  kTcpSynSent = 2,
  kTcpSynRecv = 3,
  kTcpFinWait1 = 4,
  kTcpFinWait2 = 5,
  kTcpTimeWait = 6,
  kTcpClose = 7,
  kTcpCloseWait = 8,
  kTcpLastAck = 9,
  kTcpListen = 10,
  kTcpClosing = 11,
};

}  // namespace sockclose

#endif  // SOCKCLOSE_PROBE_H_
