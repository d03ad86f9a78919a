/* Stand-in for FreeBSD 14's <netinet/tcp.h> (see ../../../README.md): the option names and
 * struct tcp_info as tcp(4) and the FreeBSD 14 header document them. Field names and types are
 * what the check verifies; the spare fields at the end only keep the struct's documented size
 * (the kernel copies at most what the caller's length allows). */
#ifndef SOCKCLOSE_STANDIN_FREEBSD_TCP_H
#define SOCKCLOSE_STANDIN_FREEBSD_TCP_H
#include <stdint.h>

#define TCP_NODELAY 1
#define TCP_MAXSEG 2
#define TCP_NOPUSH 4
#define TCP_NOOPT 8
#define TCP_MD5SIG 16
#define TCP_INFO 32
#define TCP_KEEPINIT 128
#define TCP_KEEPIDLE 256
#define TCP_KEEPINTVL 512
#define TCP_KEEPCNT 1024

/* tcpi_options bits. Only the first four mean what Linux's TCPI_OPT_* of the same value mean;
 * Linux's 0x10 is ECN_SEEN and 0x20 SYN_DATA. */
#define TCPI_OPT_TIMESTAMPS 0x01
#define TCPI_OPT_SACK 0x02
#define TCPI_OPT_WSCALE 0x04
#define TCPI_OPT_ECN 0x08
#define TCPI_OPT_TOE 0x10
#define TCPI_OPT_TFO 0x20

struct tcp_info {
  uint8_t tcpi_state;
  uint8_t __tcpi_ca_state;
  uint8_t __tcpi_retransmits;
  uint8_t __tcpi_probes;
  uint8_t __tcpi_backoff;
  uint8_t tcpi_options;
  uint8_t tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4;
  uint32_t tcpi_rto;         /* microseconds */
  uint32_t __tcpi_ato;
  uint32_t tcpi_snd_mss;
  uint32_t tcpi_rcv_mss;
  uint32_t __tcpi_unacked;
  uint32_t __tcpi_sacked;
  uint32_t __tcpi_lost;
  uint32_t __tcpi_retrans;
  uint32_t __tcpi_fackets;
  uint32_t __tcpi_last_data_sent;
  uint32_t __tcpi_last_ack_sent;
  uint32_t tcpi_last_data_recv;
  uint32_t __tcpi_last_ack_recv;
  uint32_t __tcpi_pmtu;
  uint32_t __tcpi_rcv_ssthresh;
  uint32_t tcpi_rtt;         /* smoothed RTT, microseconds */
  uint32_t tcpi_rttvar;      /* microseconds */
  uint32_t tcpi_snd_ssthresh;
  uint32_t tcpi_snd_cwnd;
  uint32_t __tcpi_advmss;
  uint32_t __tcpi_reordering;
  uint32_t __tcpi_rcv_rtt;
  uint32_t tcpi_rcv_space;
  uint32_t tcpi_snd_wnd;
  uint32_t tcpi_snd_bwnd;
  uint32_t tcpi_snd_nxt;
  uint32_t tcpi_rcv_nxt;
  uint32_t tcpi_toe_tid;
  uint32_t tcpi_snd_rexmitpack;  /* retransmitted segments */
  uint32_t tcpi_rcv_ooopack;
  uint32_t tcpi_snd_zerowin;
  uint32_t tcpi_delivered_ce;
  uint32_t tcpi_received_ce;
  uint32_t __tcpi_delivered_e1_bytes;
  uint32_t __tcpi_delivered_e0_bytes;
  uint32_t __tcpi_delivered_ce_bytes;
  uint32_t __tcpi_received_e1_bytes;
  uint32_t __tcpi_received_e0_bytes;
  uint32_t __tcpi_received_ce_bytes;
  uint32_t tcpi_total_tlp;
  uint64_t tcpi_total_tlp_bytes;
  uint32_t tcpi_snd_una;
  uint32_t tcpi_snd_max;
  uint32_t tcpi_rcv_numsacks;
  uint32_t tcpi_rcv_adv;
  uint32_t tcpi_dupacks;
  uint32_t __tcpi_pad[10];
};
#endif
