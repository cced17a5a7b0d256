/*
 * meshair.c - a simulated LoRa channel on TCP (PROTOCOL.md §10.2, §11).
 *
 * Every TCP connection is one radio with a MeshCore kiss_modem attached: the
 * client speaks plain KISS, nothing else.  The channel itself (airtime,
 * carrier sense, collisions, the modem state machine) is src/sim/channel.c;
 * this program only translates sockets to that model and back, keeps real
 * time, reads the topology file, serves the control port and writes the
 * trace.  One single-threaded poll() loop, non-blocking sockets, bounded
 * buffers: a client that does not read its output is dropped.
 *
 * Radios named in the topology file own a TCP port each (a client
 * connecting there IS that radio; a second client is refused); connections
 * to --listen are anonymous radios that come and go with their connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/kiss.h"
#include "proto/packet.h"
#include "sim/channel.h"
#include "sim/topo.h"
#include "util/err.h"
#include "util/num.h"
#include "util/hex.h"
#include "util/json.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/version.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

#define MAX_CONNS     256
#define MAX_ANON      128
#define RADIO_OUT_CAP (64 * 1024)   /* unread output before a radio client is dropped */
#define CTL_OUT_CAP   (1024 * 1024) /* the same for a control client */
#define CTL_LINE_MAX  512
#define READ_CHUNK    4096
#define JB_MAX        (4 * 1024 * 1024)

static const char *help_text_head =
    "NAME\n"
    "    meshair - a simulated LoRa channel for MeshCore KISS modems\n"
    "\n"
    "SYNOPSIS\n"
    "    meshair --listen HOST:PORT [--topology FILE] [--control HOST:PORT]\n"
    "            [--trace FILE] [--seed N] [--freq MHZ] [--bw KHZ] [--sf N] [--cr N]\n"
    "            [--loss P] [--capture-db DB] [--detect-symbols N]\n"
    "            [--csma modem|host|firmware] [-v]...\n"
    "    meshair --help\n"
    "\n"
    "DESCRIPTION\n"
    "    meshair accepts TCP connections and treats each one as a LoRa radio with\n"
    "    a MeshCore kiss_modem attached (PROTOCOL.md section 10.2).  Clients speak\n"
    "    plain KISS, exactly as over the modem's serial line: no greeting, no\n"
    "    custom frames.  A Data frame (type 00) is transmitted like the modem\n"
    "    does it: the modem listens before it talks (p-persistent CSMA with\n"
    "    TXDELAY 50 = 500 ms, persistence 63 and slot time 10 = 100 ms unless\n"
    "    the client changes them with the KISS TXDELAY, Persistence and\n"
    "    SlotTime commands; FullDuplex skips carrier sense), then occupies the\n"
    "    channel for its LoRa time on air at the radio's settings (SetRadio;\n"
    "    until then the preset below).  Radios in range on the same frequency,\n"
    "    bandwidth, spreading factor and coding rate receive the frame when the\n"
    "    transmission ends, followed by RxMeta (SNR x 4, RSSI) unless signal\n"
    "    reports are off; the sender then gets TxDone (06 F8 01).  A second Data\n"
    "    frame while one is pending is refused with F1 07.\n"
    "\n"
    "    That is the `modem' CSMA profile, the default.  --csma or a radio's\n"
    "    csma= in the topology file choose another: `host' runs the same\n"
    "    CSMA but starts from TXDELAY 0, persistence 255 and slot time 0, so\n"
    "    only what the client's KISS parameters say applies; `firmware' is a\n"
    "    MeshCore node driving its own radio (upstream Dispatcher::checkSend):\n"
    "    it transmits at once when the channel is clear, looks again after\n"
    "    120, 240 or 360 ms at random while it is busy, and transmits anyway\n"
    "    once it has been busy for more than 4 s; no TXDELAY, no persistence\n"
    "    draw, KISS CSMA parameters ignored.\n"
    "\n"
    "    A radio does not hear while it transmits.  Carrier sense (CSMA and\n"
    "    IsChannelBusy) notices a transmission after --detect-symbols preamble\n"
    "    symbols.  Frames that overlap at a receiver are lost there, unless one\n"
    "    is stronger (RSSI) by the capture margin: that one survives.  Each link\n"
    "    loses frames at random with its loss probability.\n"
    "\n"
    "    SetHardware commands answer as the modem does: SetRadio, SetTxPower,\n"
    "    GetRadio and GetTxPower (the last values set, zeros before),\n"
    "    GetCurrentRssi, IsChannelBusy, GetAirtime, GetNoiseFloor (-120 dBm),\n"
    "    GetVersion (91 01 00), GetStats (rx, tx, rx errors = collisions),\n"
    "    GetBattery (0 mV), GetSensors (empty), GetDeviceName (\"meshair\"),\n"
    "    Ping (97), Reboot (F0, then modem defaults), SetSignalReport and\n"
    "    GetSignalReport (9A 00/01).  The modem has no identity: GetIdentity,\n"
    "    GetRandom, VerifySignature, SignData, EncryptData, DecryptData,\n"
    "    KeyExchange, Hash and GetMCUTemp answer F1 03; unknown commands F1 05.\n"
    "\n"
    "    Without a topology file every radio hears every other one at 8 dB SNR\n"
    "    and -70 dBm RSSI.  meshair logs to standard error; -v adds debug lines\n"
    "    (one per transmission), -vv hex dumps.  Times are milliseconds since\n"
    "    meshair started.\n"
    "\n"
    "OPTIONS\n"
    "    --listen HOST:PORT   Accept anonymous radios here (required).  Port 0\n"
    "                         picks a free port; the log says which.\n"
    "    --topology FILE      Named radios, links and defaults (see below).\n"
    "    --control HOST:PORT  Line-based control port; HOST must be a loopback\n"
    "                         address.  Port 0 picks a free port.\n"
    "    --trace FILE         Append one JSON line per transmission, and a\n"
    "                         summary on `stats' and at exit.\n"
    "    --seed N             Seed for loss, CSMA draws and collisions (default:\n"
    "                         from the clock; the log shows it).\n"
    "    --freq MHZ           Preset frequency (default 869.618).\n"
    "    --bw KHZ             Preset bandwidth (default 62.5).\n"
    "    --sf N               Preset spreading factor 5..12 (default 8).\n"
    "    --cr N               Preset coding rate 5..8 for 4/5..4/8 (default 5).\n"
    "    --loss P             Default link loss probability 0..1 (default 0).\n"
    "    --capture-db DB      Capture margin in dB (default 6).\n"
    "    --detect-symbols N   Preamble symbols before carrier sense sees a\n"
    "                         frame (default 4; 0 = at once).\n"
    "    --csma PROFILE       CSMA profile of radios whose topology line has\n"
    "                         no csma= and of anonymous radios: modem\n"
    "                         (default), host or firmware (see above).\n"
    "    -v, --verbose        More logging; repeat for hex dumps.\n"
    "    -h, --help           This text.\n"
    "    --version            Print the version.\n"
    "\n"
    "TOPOLOGY FILE\n"
    "    Plain text, one statement per line, `#' starts a comment:\n"
    "\n"
    "    radio NAME PORT [down] [csma=modem|host|firmware]\n"
    "        A named radio: a client connecting to PORT (on the --listen host)\n"
    "        is this radio; one client at a time.  PORT 0 picks a free port\n"
    "        (see the log or the `radios' control command).  `down' starts it\n"
    "        administratively down.  csma= its CSMA profile (else --csma).\n"
    "        NAME: 1..31 of A-Z a-z 0-9 _ . : -\n"
    "    default [snr=DB] [rssi=DBM] [loss=P]\n"
    "        Link parameters wherever none are given (default snr=8 rssi=-70\n"
    "        loss=0; --loss overrides loss=).\n"
    "    mode full|links\n"
    "        full: every pair of radios hears each other with the default\n"
    "        parameters; link lines only change parameters or state.  links:\n"
    "        named radios hear each other only through link lines.  Without a\n"
    "        mode line: links if the file has any link line, full otherwise.\n"
    "    link A B [snr=DB] [rssi=DBM] [loss=P] [down]\n"
    "    link A <-> B [...]\n"
    "        A hears B and B hears A (symmetric), with these parameters.\n"
    "    link A -> B [...]\n"
    "    link1 A B [...]\n"
    "        One way: B hears A (A is the sender).\n"
    "\n"
    "    Anonymous radios (connections to --listen, named anon1, anon2, ...)\n"
    "    always hear and are heard by every radio, named or anonymous, with the\n"
    "    default parameters, in both modes.  Radios on different frequency,\n"
    "    bandwidth, SF or CR never hear each other.\n"
    "\n"
    "CONTROL COMMANDS\n"
    "    One command per line; every answer is one line of JSON with \"ok\": true,\n"
    "    or \"ok\": false and \"error\".  Radios are named as in the topology file\n"
    "    or anonN.\n"
    "\n";

static const char *help_text_tail =
    "\n"
    "TRACE FORMAT\n"
    "    One JSON object per line.  A transmission, written when it ends:\n"
    "      {\"event\":\"tx\",\"start_ms\":1234.567,\"end_ms\":1538.695,\"sender\":\"A\",\n"
    "       \"len\":22,\"type\":\"ADVERT\",\"route\":\"FLOOD\",\"freq\":869618000,\n"
    "       \"bw\":62500,\"sf\":8,\"cr\":5,\"frame\":\"11...\",\n"
    "       "
    "\"receivers\":[{\"radio\":\"B\",\"outcome\":\"delivered\",\"snr\":8.00,\"rssi\":-70}]}\n"
    "    type and route come from the MeshCore header byte (bits 2-5, bits\n"
    "    0-1).  receivers lists every radio in range on the same settings; an\n"
    "    outcome is delivered, collided (another frame overlapped), lost (link\n"
    "    loss, or the receiver changed settings meanwhile), deaf (the receiver\n"
    "    was transmitting) or down (receiver, sender or link down, or a modem\n"
    "    unplugged).  A summary, on `stats' and at exit:\n"
    "      {\"event\":\"summary\",\"time_ms\":..,\"transmissions\":..,\"airtime_ms\":..,\n"
    "       \"tx_collided\":..,\"delivered\":..,\"collided\":..,\"lost\":..,\"deaf\":..,\n"
    "       \"down\":..,\"radios\":[{\"radio\":\"A\",\"tx\":..,\"airtime_ms\":..,\n"
    "       \"delivered\":..,\"collided\":..,\"lost\":..,\"deaf\":..,\"down\":..,\n"
    "       \"busy_rejects\":..,\"csma_slots\":..,\"busy_timeouts\":..}]}\n"
    "    Per-radio counters are by receiver (tx and airtime_ms by sender) and\n"
    "    cover the radios present; channel totals cover all.\n"
    "\n"
    "EXIT STATUS\n"
    "    0  clean exit (SIGINT, SIGTERM or the `quit' command)\n"
    "    1  runtime error (cannot listen, out of memory, ...)\n"
    "    2  usage error: bad option or topology file\n"
    "\n"
    "EXAMPLES\n"
    "    Two or more radios that all hear each other:\n"
    "        meshair --listen 127.0.0.1:7000\n"
    "\n"
    "    A line A - B - C (A and C hear only B), with a lossy B - C link and a\n"
    "    control port, tracing to air.jsonl:\n"
    "        cat > line.topo <<EOF\n"
    "        radio A 7001\n"
    "        radio B 7002\n"
    "        radio C 7003\n"
    "        link A B snr=10 rssi=-60\n"
    "        link B C loss=0.2\n"
    "        EOF\n"
    "        meshair --listen 127.0.0.1:7000 --topology line.topo \\\n"
    "                --control 127.0.0.1:7100 --trace air.jsonl --seed 1\n"
    "\n"
    "    Take B off the air for a while and read the counters:\n"
    "        printf 'radio B down\\n' | nc -q1 127.0.0.1 7100\n"
    "        printf 'radio B up\\nstats\\n' | nc -q1 127.0.0.1 7100\n";

/* ---- a small JSON builder ------------------------------------------------- */

struct jb {
	char *p;
	size_t len, cap;
	bool err;
};

static void jb_reserve(struct jb *j, size_t n)
{
	if (j->err || j->len + n + 1 <= j->cap)
		return;
	size_t cap = j->cap ? j->cap : 256;
	while (cap < j->len + n + 1)
		cap *= 2;
	char *p = cap <= JB_MAX ? realloc(j->p, cap) : NULL;
	if (!p) {
		j->err = true;
		return;
	}
	j->p = p;
	j->cap = cap;
}

static void jb_raw(struct jb *j, const char *s)
{
	size_t n = strlen(s);
	jb_reserve(j, n);
	if (j->err)
		return;
	memcpy(j->p + j->len, s, n + 1);
	j->len += n;
}

__attribute__((format(printf, 2, 3))) static void jb_printf(struct jb *j, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		j->err = true;
		return;
	}
	jb_reserve(j, (size_t)n);
	if (j->err)
		return;
	va_start(ap, fmt);
	vsnprintf(j->p + j->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	j->len += (size_t)n;
}

/* A JSON string through the one writer (util/json.h). */
static void jb_str(struct jb *j, const char *s)
{
	size_t len = s ? strlen(s) : 0, n = json_str(NULL, 0, s, len);
	jb_reserve(j, n);
	if (j->err)
		return;
	json_str(j->p + j->len, n + 1, s, len);
	j->len += n;
}

static void jb_free(struct jb *j)
{
	free(j->p);
	*j = (struct jb){0};
}

/* ---- state ------------------------------------------------------------------ */

enum conn_kind { CONN_RADIO, CONN_CTL };

struct conn {
	int fd;
	enum conn_kind kind;
	int radio; /* channel id (radios) */
	int named; /* index into app.named, -1 for anonymous */
	bool dead;
	char peer[64];
	struct kiss_dec dec;
	uint8_t *out;
	size_t out_len, out_cap;
	char line[CTL_LINE_MAX + 1];
	size_t line_len;
	bool line_overflow;
	struct app *app;
};

/* A radio of the topology file and its listening socket. */
struct named {
	const struct topo_radio *t;
	unsigned bound; /* the port actually bound */
	int lfd;
	int id; /* channel id */
	struct conn *conn;
};

struct opts {
	const char *listen, *topology, *control, *trace;
	uint64_t seed;
	bool have_seed, have_loss;
	double loss;
	struct chan_config cfg;
	int verbose;
};

struct app {
	struct opts o;
	struct chan *ch;
	struct rng rng;
	struct rng_seeded seeded;
	struct timespec t0;
	int listen_fd, ctl_fd;
	char listen_host[256];
	unsigned listen_port, ctl_port;
	struct topo topo;
	struct named *named; /* [topo.n_radios] */
	size_t n_named;
	struct conn *conns[MAX_CONNS];
	struct conn **by_radio; /* [chan cap] */
	unsigned anon_seq;
	FILE *trace;
	bool stop;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static uint64_t now_us(const struct app *app)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t s = (int64_t)ts.tv_sec - (int64_t)app->t0.tv_sec;
	int64_t ns = (int64_t)ts.tv_nsec - (int64_t)app->t0.tv_nsec;
	return (uint64_t)(s * 1000000 + ns / 1000);
}

static void fmt_ms(char *buf, size_t cap, uint64_t us)
{
	snprintf(buf, cap, "%llu.%03llu", (unsigned long long)(us / 1000),
	         (unsigned long long)(us % 1000));
}

/* ---- usage errors ------------------------------------------------------------ */

__attribute__((format(printf, 1, 2), noreturn)) static void usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "meshair: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'meshair --help'.\n");
	exit(EXIT_USAGE);
}

/* "host:port", "[v6]:port"; host may be empty (all addresses). */
static bool split_hostport(const char *s, char *host, size_t hcap, unsigned *port)
{
	const char *colon;
	const char *h = s;
	size_t hl;

	if (*s == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return false;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		hl = (size_t)(colon - s);
	}
	if (hl >= hcap)
		return false;
	memcpy(host, h, hl);
	host[hl] = 0;
	unsigned long long p;
	if (!num_ulong(colon + 1, 65535, &p))
		return false;
	*port = (unsigned)p;
	return true;
}

/* ---- topology file ------------------------------------------------------------ */

#define TOPO_FILE_MAX (1024 * 1024)

static void topo_load(struct app *app, const char *file)
{
	FILE *f = fopen(file, "r");
	char err[160];
	int line;

	if (!f)
		usage_error("cannot open topology file %s: %s", file, strerror(errno));
	char *text = malloc(TOPO_FILE_MAX + 1);
	if (!text) {
		log_err("main", "out of memory");
		exit(EXIT_RUNTIME);
	}
	size_t len = fread(text, 1, TOPO_FILE_MAX + 1, f);
	if (ferror(f))
		usage_error("cannot read topology file %s", file);
	fclose(f);
	if (len > TOPO_FILE_MAX)
		usage_error("topology file %s is over %d bytes", file, TOPO_FILE_MAX);
	int rc = topo_parse(&app->topo, text, len, &line, err, sizeof(err));
	free(text);
	if (rc == ERR_NOMEM) {
		log_err("main", "out of memory");
		exit(EXIT_RUNTIME);
	}
	if (rc) {
		fprintf(stderr, "%s:%d: %s\n", file, line, err);
		exit(EXIT_USAGE);
	}
}

/* ---- sockets ------------------------------------------------------------------ */

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

static unsigned bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* Returns a listening non-blocking socket, or -1 with a logged error. */
static int listen_on(const char *host, unsigned port, bool loopback_only, bool *not_loopback)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char ps[8];
	int fd = -1;

	snprintf(ps, sizeof(ps), "%u", port);
	int rc = getaddrinfo(*host ? host : NULL, ps, &hints, &res);
	if (rc) {
		log_err("net", "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (loopback_only && !is_loopback(ai->ai_addr)) {
			if (not_loopback)
				*not_loopback = true;
			continue;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0)
			break;
		log_err("net", "cannot listen on %s:%u: %s", host, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static void peer_name(int fd, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char h[INET6_ADDRSTRLEN] = "?";
	unsigned p = 0;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, h, sizeof(h));
			p = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &in6->sin6_addr, h, sizeof(h));
			p = ntohs(in6->sin6_port);
		}
	}
	snprintf(out, cap, "%s:%u", h, p);
}

/* ---- connections -------------------------------------------------------------- */

static void conn_flush(struct conn *c)
{
	while (!c->dead && c->out_len > 0) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			memmove(c->out, c->out + n, c->out_len - (size_t)n);
			c->out_len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			log_info("net", "%s: write failed: %s", c->peer,
			         n < 0 ? strerror(errno) : "closed");
			c->dead = true;
		}
	}
}

/* Queues bytes for the client; a client whose backlog would pass the cap is dropped. */
static bool conn_put(struct conn *c, const void *p, size_t n)
{
	if (c->dead)
		return false;
	if (c->out_cap - c->out_len < n)
		conn_flush(c);
	if (c->dead)
		return false;
	if (c->out_cap - c->out_len < n) {
		log_warn("net", "%s: client does not read its output (%zu bytes pending): dropped",
		         c->peer, c->out_len);
		c->dead = true;
		return false;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return true;
}

static void conn_put_json(struct conn *c, struct jb *j)
{
	if (j->err) {
		static const char oom[] = "{\"ok\":false,\"error\":\"answer too large\"}\n";
		conn_put(c, oom, sizeof(oom) - 1);
		return;
	}
	jb_raw(j, "\n");
	conn_put(c, j->p, j->len);
}

static void on_kiss_frame(void *ctx, uint8_t type, const uint8_t *data, size_t len)
{
	struct conn *c = ctx;
	struct app *app = c->app;

	if (c->dead)
		return;
	if (log_get_level() >= LOG_TRACE) {
		char what[64];
		snprintf(what, sizeof(what), "%s host->modem type %02x",
		         chan_radio_name(app->ch, c->radio), type);
		log_hex("kiss", what, data, len);
	}
	chan_modem_input(app->ch, c->radio, type, data, len);
}

static struct conn *conn_new(struct app *app, int fd, enum conn_kind kind)
{
	int slot = -1;
	for (int i = 0; i < MAX_CONNS; i++) {
		if (!app->conns[i]) {
			slot = i;
			break;
		}
	}
	if (slot < 0)
		return NULL;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->out_cap = kind == CONN_RADIO ? RADIO_OUT_CAP : CTL_OUT_CAP;
	c->out = malloc(c->out_cap);
	if (!c->out) {
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->kind = kind;
	c->radio = -1;
	c->named = -1;
	c->app = app;
	peer_name(fd, c->peer, sizeof(c->peer));
	kiss_dec_init(&c->dec, on_kiss_frame, c);
	app->conns[slot] = c;
	return c;
}

static void conn_close(struct app *app, struct conn *c)
{
	if (c->kind == CONN_RADIO && c->radio >= 0) {
		log_info("net", "radio %s disconnected (%s)", chan_radio_name(app->ch, c->radio),
		         c->peer);
		app->by_radio[c->radio] = NULL;
		if (c->named >= 0) {
			app->named[c->named].conn = NULL;
			chan_radio_attach(app->ch, c->radio, false);
		} else {
			chan_radio_remove(app->ch, c->radio);
		}
	}
	close(c->fd);
	for (int i = 0; i < MAX_CONNS; i++)
		if (app->conns[i] == c)
			app->conns[i] = NULL;
	free(c->out);
	free(c);
}

static void accept_all(struct app *app, int lfd, enum conn_kind kind, int named)
{
	for (int k = 0; k < 16; k++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("net", "accept: %s", strerror(errno));
			return;
		}
		char peer[64];
		peer_name(fd, peer, sizeof(peer));
		if (named >= 0 && app->named[named].conn) {
			log_warn("net", "radio %s already has a client; refused %s",
			         app->named[named].t->name, peer);
			close(fd);
			continue;
		}
		struct conn *c = conn_new(app, fd, kind);
		if (!c) {
			log_warn("net", "too many connections; refused %s", peer);
			close(fd);
			continue;
		}
		if (kind == CONN_CTL) {
			log_debug("ctl", "control client %s", c->peer);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (named >= 0) {
			struct named *r = &app->named[named];
			c->radio = r->id;
			c->named = named;
			r->conn = c;
			chan_radio_attach(app->ch, r->id, true);
		} else {
			char name[CHAN_NAME_MAX];
			int id = ERR_FULL;
			unsigned anon = 0;
			for (int i = 0; i < MAX_CONNS; i++)
				if (app->conns[i] && app->conns[i]->kind == CONN_RADIO &&
				    app->conns[i]->named < 0 && app->conns[i]->radio >= 0)
					anon++;
			for (int tries = 0; anon < MAX_ANON && tries < 1000; tries++) {
				snprintf(name, sizeof(name), "anon%u", ++app->anon_seq);
				id = chan_radio_add(app->ch, name, true, c);
				if (id != ERR_INVAL)
					break;
			}
			if (id < 0) {
				log_warn("net", "no room for another radio; refused %s", c->peer);
				conn_close(app, c);
				continue;
			}
			c->radio = id;
		}
		app->by_radio[c->radio] = c;
		log_info("net", "radio %s connected (%s)", chan_radio_name(app->ch, c->radio),
		         c->peer);
	}
}

/* ---- channel callbacks ---------------------------------------------------------- */

static void on_host_frame(void *ctx, int radio, uint8_t type, const uint8_t *data, size_t len)
{
	struct app *app = ctx;
	struct conn *c =
	    radio >= 0 && (unsigned)radio < chan_radio_cap(app->ch) ? app->by_radio[radio] : NULL;
	uint8_t buf[2 * (KISS_MAX_FRAME + 1) + 3];

	if (!c || c->dead)
		return;
	int n = kiss_encode(type, data, len, buf, sizeof(buf));
	if (n < 0)
		return;
	if (log_get_level() >= LOG_TRACE) {
		char what[64];
		snprintf(what, sizeof(what), "%s modem->host type %02x",
		         chan_radio_name(app->ch, radio), type);
		log_hex("kiss", what, data, len);
	}
	conn_put(c, buf, (size_t)n);
}

static void trace_line(struct app *app, struct jb *j)
{
	if (!app->trace || j->err)
		return;
	if (fputs(j->p, app->trace) < 0 || fputc('\n', app->trace) < 0 || fflush(app->trace)) {
		log_err("trace", "write failed: %s; tracing stops", strerror(errno));
		fclose(app->trace);
		app->trace = NULL;
	}
}

static void on_tx_report(void *ctx, const struct chan_tx_report *r)
{
	struct app *app = ctx;
	struct jb j = {0};
	char s[32], e[32];
	uint8_t h = r->len ? r->frame[0] : 0;
	char hex[2 * CHAN_MAX_FRAME + 1];

	fmt_ms(s, sizeof(s), r->start_us);
	fmt_ms(e, sizeof(e), r->end_us);
	hex_encode(hex, sizeof(hex), r->frame, r->len);
	jb_printf(&j, "{\"event\":\"tx\",\"start_ms\":%s,\"end_ms\":%s,\"sender\":", s, e);
	jb_str(&j, r->sender_name);
	jb_printf(&j, ",\"len\":%zu,\"type\":\"%s\",\"route\":\"%s\"", r->len,
	          pkt_type_name((h >> 2) & 0x0F), pkt_route_name(h & 3));
	if (h >> 6)
		jb_printf(&j, ",\"version\":%u", h >> 6);
	jb_printf(&j, ",\"freq\":%u,\"bw\":%u,\"sf\":%u,\"cr\":%u,\"frame\":\"%s\",\"receivers\":[",
	          r->params.freq_hz, r->params.bw_hz, r->params.sf, r->params.cr, hex);
	for (size_t i = 0; i < r->rx_count; i++) {
		const struct chan_rx_report *x = &r->rx[i];
		jb_raw(&j, i ? ",{\"radio\":" : "{\"radio\":");
		jb_str(&j, chan_radio_name(app->ch, x->radio));
		jb_printf(&j, ",\"outcome\":\"%s\",\"snr\":%.2f,\"rssi\":%d}",
		          chan_outcome_name(x->outcome), x->snr_x4 / 4.0, x->rssi);
	}
	jb_raw(&j, "]}");
	if (log_get_level() >= LOG_DEBUG) {
		unsigned del = 0;
		for (size_t i = 0; i < r->rx_count; i++)
			del += r->rx[i].outcome == CHAN_DELIVERED;
		log_debug("air", "%s sent %zu bytes %s/%s, %s..%s ms, delivered to %u of %zu",
		          r->sender_name, r->len, pkt_type_name((h >> 2) & 0x0F),
		          pkt_route_name(h & 3), s, e, del, r->rx_count);
	}
	trace_line(app, &j);
	jb_free(&j);
}

/* ---- summary -------------------------------------------------------------------- */

static void summary_json(struct app *app, struct jb *j)
{
	struct chan_stats st;
	char t[32], air[32];

	chan_stats(app->ch, &st);
	fmt_ms(t, sizeof(t), chan_now(app->ch));
	fmt_ms(air, sizeof(air), st.airtime_us);
	jb_printf(j, "\"time_ms\":%s,\"transmissions\":%u,\"airtime_ms\":%s,\"tx_collided\":%u", t,
	          st.tx, air, st.tx_collided);
	for (int o = 0; o < CHAN_OUTCOMES; o++)
		jb_printf(j, ",\"%s\":%u", chan_outcome_name((enum chan_outcome)o), st.rx[o]);
	jb_raw(j, ",\"radios\":[");
	bool first = true;
	for (unsigned id = 0; id < chan_radio_cap(app->ch); id++) {
		struct chan_radio_stats rs;
		if (chan_radio_stats(app->ch, (int)id, &rs))
			continue;
		fmt_ms(air, sizeof(air), rs.tx_airtime_us);
		jb_raw(j, first ? "{\"radio\":" : ",{\"radio\":");
		first = false;
		jb_str(j, chan_radio_name(app->ch, (int)id));
		jb_printf(j, ",\"tx\":%u,\"airtime_ms\":%s", rs.tx, air);
		for (int o = 0; o < CHAN_OUTCOMES; o++)
			jb_printf(j, ",\"%s\":%u", chan_outcome_name((enum chan_outcome)o),
			          rs.rx[o]);
		jb_printf(j, ",\"busy_rejects\":%u,\"csma_slots\":%u,\"busy_timeouts\":%u}",
		          rs.tx_busy_rejects, rs.csma_slots, rs.busy_timeouts);
	}
	jb_raw(j, "]");
}

static void trace_summary(struct app *app)
{
	struct jb j = {0};
	jb_raw(&j, "{\"event\":\"summary\",");
	summary_json(app, &j);
	jb_raw(&j, "}");
	trace_line(app, &j);
	jb_free(&j);
}

/* ---- control commands ----------------------------------------------------------- */

static void ctl_err(struct jb *j, const char *msg)
{
	jb_raw(j, "{\"ok\":false,\"error\":");
	jb_str(j, msg);
	jb_raw(j, "}");
}

static int find_radio(struct app *app, const char *name, struct jb *j)
{
	int id = chan_radio_find(app->ch, name);
	if (id < 0) {
		char msg[CTL_LINE_MAX + 32];
		snprintf(msg, sizeof(msg), "no such radio: %s", name);
		ctl_err(j, msg);
	}
	return id;
}

static void ctl_radios(struct app *app, struct conn *c, int argc, char **argv, struct jb *j)
{
	(void)c;
	(void)argc;
	(void)argv;
	jb_raw(j, "{\"ok\":true,\"radios\":[");
	bool first = true;
	for (unsigned id = 0; id < chan_radio_cap(app->ch); id++) {
		struct chan_radio_info in;
		if (chan_radio_info(app->ch, (int)id, &in))
			continue;
		struct conn *rc = app->by_radio[id];
		int named = rc ? rc->named : -1;
		for (size_t k = 0; named < 0 && k < app->n_named; k++)
			if (app->named[k].id == (int)id)
				named = (int)k;
		jb_raw(j, first ? "{\"name\":" : ",{\"name\":");
		first = false;
		jb_str(j, in.name);
		jb_printf(j,
		          ",\"named\":%s,\"port\":%u,\"connected\":%s,\"up\":%s,\"state\":\"%s\","
		          "\"busy\":%s,\"freq\":%u,\"bw\":%u,\"sf\":%u,\"cr\":%u,\"txdelay\":%u,"
		          "\"persistence\":%u,\"slottime\":%u,\"fullduplex\":%u,\"tx_power\":%u,"
		          "\"signal_report\":%s,\"csma\":\"%s\"",
		          named >= 0 ? "true" : "false",
		          named >= 0 ? app->named[named].bound : app->listen_port,
		          in.attached ? "true" : "false", in.up ? "true" : "false",
		          chan_tx_state_name(in.state), in.busy ? "true" : "false",
		          in.params.freq_hz, in.params.bw_hz, in.params.sf, in.params.cr,
		          in.txdelay, in.persistence, in.slottime, in.fullduplex, in.tx_power,
		          in.signal_report ? "true" : "false", chan_csma_name(in.csma));
		if (rc) {
			jb_raw(j, ",\"peer\":");
			jb_str(j, rc->peer);
		}
		jb_raw(j, "}");
	}
	jb_raw(j, "]}");
}

static void ctl_radio(struct app *app, struct conn *c, int argc, char **argv, struct jb *j)
{
	(void)c;
	if (argc != 3) {
		ctl_err(j, "usage: radio NAME up|down|disconnect");
		return;
	}
	int id = find_radio(app, argv[1], j);
	if (id < 0)
		return;
	if (strcmp(argv[2], "up") == 0 || strcmp(argv[2], "down") == 0) {
		bool up = argv[2][0] == 'u';
		chan_radio_set_up(app->ch, id, up);
		log_info("ctl", "radio %s %s", argv[1], up ? "up" : "down");
	} else if (strcmp(argv[2], "disconnect") == 0) {
		struct conn *rc = app->by_radio[id];
		if (!rc) {
			ctl_err(j, "radio not connected");
			return;
		}
		log_info("ctl", "radio %s: disconnect requested", argv[1]);
		rc->dead = true; /* closed by the main loop, after this answer */
	} else {
		ctl_err(j, "usage: radio NAME up|down|disconnect");
		return;
	}
	jb_raw(j, "{\"ok\":true}");
}

static void ctl_link(struct app *app, struct conn *c, int argc, char **argv, struct jb *j)
{
	static const char usage[] = "usage: link A B up|down [snr=DB] [rssi=DBM] [loss=P]";
	struct topo_link l = {0};
	const char *e = NULL;
	(void)c;

	int i = topo_parse_link_names(argv, argc, &l, &e);
	if (i < 0 || i >= argc || (strcmp(argv[i], "up") && strcmp(argv[i], "down"))) {
		ctl_err(j, e ? e : usage);
		return;
	}
	bool up = strcmp(argv[i], "up") == 0;
	e = topo_parse_link_opts(argv + i + 1, argc - i - 1, &l, false);
	if (e) {
		ctl_err(j, e);
		return;
	}
	int a = find_radio(app, l.a, j);
	if (a < 0)
		return;
	int b = find_radio(app, l.b, j);
	if (b < 0)
		return;
	if (a == b) {
		ctl_err(j, "a link needs two different radios");
		return;
	}
	for (int dir = 0; dir < (l.both ? 2 : 1); dir++) {
		int from = dir ? b : a, to = dir ? a : b;
		struct chan_link p;
		bool in_range = chan_link_get(app->ch, from, to, &p, NULL) == ERR_OK;
		if (!in_range && !up)
			continue; /* out of range is as down as it gets */
		if (!in_range)
			p = app->topo.def;
		if (l.has_snr)
			p.snr_x4 = l.p.snr_x4;
		if (l.has_rssi)
			p.rssi = l.p.rssi;
		if (l.has_loss)
			p.loss = l.p.loss;
		if (!in_range || l.has_snr || l.has_rssi || l.has_loss)
			chan_link_set(app->ch, from, to, &p);
		chan_link_set_up(app->ch, from, to, up);
	}
	log_info("ctl", "link %s %s %s %s", l.a, l.both ? "<->" : "->", l.b, up ? "up" : "down");
	jb_raw(j, "{\"ok\":true}");
}

static void ctl_stats(struct app *app, struct conn *c, int argc, char **argv, struct jb *j)
{
	(void)c;
	(void)argc;
	(void)argv;
	jb_raw(j, "{\"ok\":true,");
	summary_json(app, j);
	jb_raw(j, "}");
	trace_summary(app);
}

static void ctl_reset_stats(struct app *app, struct conn *c, int argc, char **argv, struct jb *j)
{
	(void)c;
	(void)argc;
	(void)argv;
	chan_stats_reset(app->ch);
	jb_raw(j, "{\"ok\":true}");
}

static void ctl_quit(struct app *app, struct conn *c, int argc, char **argv, struct jb *j)
{
	(void)argc;
	(void)argv;
	log_info("ctl", "quit requested by %s", c->peer);
	app->stop = true;
	jb_raw(j, "{\"ok\":true}");
}

static void ctl_help(struct app *app, struct conn *c, int argc, char **argv, struct jb *j);

static const struct ctl_cmd {
	const char *name;
	const char *args;
	const char *help;
	void (*fn)(struct app *app, struct conn *c, int argc, char **argv, struct jb *j);
} ctl_cmds[] = {
    {"radios", "", "list the radios: name, port, connected, up, tx state, settings", ctl_radios},
    {"radio", "NAME up|down|disconnect",
     "down takes a radio off the air (it neither hears nor is heard; its connection "
     "stays open), up puts it back; disconnect closes its TCP connection (an unplugged modem)",
     ctl_radio},
    {"link", "A B up|down [snr=DB] [rssi=DBM] [loss=P]",
     "both directions; `up' creates a missing link with the default parameters; "
     "A -> B or link1 for one way",
     ctl_link},
    {"link1", "A B up|down [...]", "one way: B hears A (same as link A -> B)", ctl_link},
    {"stats", "", "the summary (also written to the trace)", ctl_stats},
    {"reset-stats", "", "zero the summary counters", ctl_reset_stats},
    {"quit", "", "exit meshair (status 0)", ctl_quit},
    {"help", "", "this list", ctl_help},
};

static void ctl_help(struct app *app, struct conn *c, int argc, char **argv, struct jb *j)
{
	(void)app;
	(void)c;
	(void)argc;
	(void)argv;
	jb_raw(j, "{\"ok\":true,\"commands\":[");
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		char s[128];
		snprintf(s, sizeof(s), "%s%s%s", ctl_cmds[i].name, *ctl_cmds[i].args ? " " : "",
		         ctl_cmds[i].args);
		if (i)
			jb_raw(j, ",");
		jb_str(j, s);
	}
	jb_raw(j, "]}");
}

static void ctl_line(struct app *app, struct conn *c, char *line)
{
	char *tok[16];
	struct jb j = {0};
	int n = topo_split(line, tok, 16);

	if (n == 0)
		return;
	if (n < 0) {
		ctl_err(&j, "too many words");
	} else {
		const struct ctl_cmd *cmd = NULL;
		for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
			if (strcmp(ctl_cmds[i].name, tok[0]) == 0) {
				cmd = &ctl_cmds[i];
				break;
			}
		if (cmd)
			cmd->fn(app, c, n, tok, &j);
		else
			ctl_err(&j, "unknown command (try help)");
	}
	conn_put_json(c, &j);
	jb_free(&j);
}

static void ctl_feed(struct app *app, struct conn *c, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && !c->dead; i++) {
		char ch = (char)p[i];
		if (ch == '\n') {
			if (c->line_overflow) {
				struct jb j = {0};
				ctl_err(&j, "line too long");
				conn_put_json(c, &j);
				jb_free(&j);
			} else {
				c->line[c->line_len] = 0;
				ctl_line(app, c, c->line);
			}
			c->line_len = 0;
			c->line_overflow = false;
		} else if (c->line_len < CTL_LINE_MAX) {
			c->line[c->line_len++] = ch ? ch : ' ';
		} else {
			c->line_overflow = true;
		}
	}
}

/* ---- main loop ------------------------------------------------------------------ */

static void conn_read(struct app *app, struct conn *c)
{
	uint8_t buf[READ_CHUNK];

	for (int k = 0; k < 16 && !c->dead; k++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			chan_advance(app->ch, now_us(app));
			if (c->kind == CONN_RADIO)
				kiss_dec_feed(&c->dec, buf, (size_t)n);
			else
				ctl_feed(app, c, buf, (size_t)n);
			if ((size_t)n < sizeof(buf))
				return;
		} else if (n == 0) {
			c->dead = true;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return;
		} else if (errno != EINTR) {
			log_info("net", "%s: read failed: %s", c->peer, strerror(errno));
			c->dead = true;
		}
	}
}

static int run(struct app *app)
{
	size_t maxp = 2 + app->n_named + MAX_CONNS;
	struct pollfd *pfd = calloc(maxp, sizeof(*pfd));
	struct conn **pconn = calloc(maxp, sizeof(*pconn));
	int *pnamed = calloc(maxp, sizeof(*pnamed));
	int rc = 0;

	if (!pfd || !pconn || !pnamed) {
		log_err("main", "out of memory");
		rc = EXIT_RUNTIME;
		goto out;
	}
	/* SIGINT and SIGTERM are let in only while ppoll waits, so that none is
	 * lost between the check of got_signal and the wait */
	sigset_t block, waitmask;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);

	while (!app->stop && !got_signal) {
		uint64_t now = now_us(app);
		chan_advance(app->ch, now);
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = app->conns[i];
			if (!c)
				continue;
			conn_flush(c);
			if (c->dead)
				conn_close(app, c);
		}

		size_t np = 0;
		pfd[np] = (struct pollfd){.fd = app->listen_fd, .events = POLLIN};
		pconn[np] = NULL;
		pnamed[np++] = -1;
		if (app->ctl_fd >= 0) {
			pfd[np] = (struct pollfd){.fd = app->ctl_fd, .events = POLLIN};
			pconn[np] = NULL;
			pnamed[np++] = -2;
		}
		for (size_t k = 0; k < app->n_named && np < maxp; k++) {
			pfd[np] = (struct pollfd){.fd = app->named[k].lfd, .events = POLLIN};
			pconn[np] = NULL;
			pnamed[np++] = (int)k;
		}
		for (int i = 0; i < MAX_CONNS && np < maxp; i++) {
			struct conn *c = app->conns[i];
			if (!c)
				continue;
			pfd[np] = (struct pollfd){
			    .fd = c->fd, .events = (short)(POLLIN | (c->out_len ? POLLOUT : 0))};
			pconn[np] = c;
			pnamed[np++] = -3;
		}

		uint64_t dl = chan_next_deadline(app->ch);
		struct timespec ts, *tsp = NULL;
		now = now_us(app);
		if (dl != CHAN_NEVER) {
			uint64_t us = dl <= now ? 0 : dl - now;
			ts.tv_sec = (time_t)(us / 1000000);
			ts.tv_nsec = (long)(us % 1000000) * 1000;
			tsp = &ts;
		}
		if (ppoll(pfd, np, tsp, &waitmask) < 0) {
			if (errno == EINTR)
				continue;
			log_err("net", "poll: %s", strerror(errno));
			rc = EXIT_RUNTIME;
			goto out;
		}
		chan_advance(app->ch, now_us(app));
		for (size_t k = 0; k < np; k++) {
			if (!pfd[k].revents)
				continue;
			if (pconn[k]) {
				struct conn *c = pconn[k];
				if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
					conn_read(app, c);
				if (pfd[k].revents & POLLOUT)
					conn_flush(c);
			} else if (pnamed[k] == -1) {
				accept_all(app, app->listen_fd, CONN_RADIO, -1);
			} else if (pnamed[k] == -2) {
				accept_all(app, app->ctl_fd, CONN_CTL, -1);
			} else {
				accept_all(app, app->named[pnamed[k]].lfd, CONN_RADIO, pnamed[k]);
			}
		}
	}
	if (got_signal)
		log_info("main", "%s: exiting", strsignal(got_signal));
	/* last answers (quit) go out before the connections close */
	for (int i = 0; i < MAX_CONNS; i++)
		if (app->conns[i])
			conn_flush(app->conns[i]);
out:
	free(pfd);
	free(pconn);
	free(pnamed);
	return rc;
}

/* ---- set-up ------------------------------------------------------------------------ */

static void parse_args(struct opts *o, int argc, char **argv)
{
	enum {
		O_LISTEN = 256,
		O_TOPO,
		O_CONTROL,
		O_TRACE,
		O_SEED,
		O_FREQ,
		O_BW,
		O_SF,
		O_CR,
		O_LOSS,
		O_CAPTURE,
		O_DETECT,
		O_CSMA
	};
	static const struct option lo[] = {
	    {"listen", required_argument, NULL, O_LISTEN},
	    {"topology", required_argument, NULL, O_TOPO},
	    {"control", required_argument, NULL, O_CONTROL},
	    {"trace", required_argument, NULL, O_TRACE},
	    {"seed", required_argument, NULL, O_SEED},
	    {"freq", required_argument, NULL, O_FREQ},
	    {"bw", required_argument, NULL, O_BW},
	    {"sf", required_argument, NULL, O_SF},
	    {"cr", required_argument, NULL, O_CR},
	    {"loss", required_argument, NULL, O_LOSS},
	    {"capture-db", required_argument, NULL, O_CAPTURE},
	    {"detect-symbols", required_argument, NULL, O_DETECT},
	    {"csma", required_argument, NULL, O_CSMA},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	double d;
	unsigned long long u;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", lo, NULL)) != -1) {
		switch (c) {
		case O_LISTEN: o->listen = optarg; break;
		case O_TOPO: o->topology = optarg; break;
		case O_CONTROL: o->control = optarg; break;
		case O_TRACE: o->trace = optarg; break;
		case O_SEED:
			if (!num_ulong(optarg, UINT64_MAX, &u))
				usage_error("--seed wants a non-negative integer, not %s", optarg);
			o->seed = u;
			o->have_seed = true;
			break;
		case O_FREQ:
			if (!num_double(optarg, 100, 3000, &d))
				usage_error("--freq wants MHz (100..3000), not %s", optarg);
			o->cfg.preset.freq_hz = (uint32_t)llround(d * 1e6);
			break;
		case O_BW:
			if (!num_double(optarg, 7.8, 1625, &d))
				usage_error("--bw wants kHz (7.8..1625), not %s", optarg);
			o->cfg.preset.bw_hz = (uint32_t)llround(d * 1e3);
			break;
		case O_SF:
			if (!num_ulong(optarg, 12, &u) || u < 5)
				usage_error("--sf wants 5..12, not %s", optarg);
			o->cfg.preset.sf = (uint8_t)u;
			break;
		case O_CR:
			if (!num_ulong(optarg, 8, &u) || u < 5)
				usage_error("--cr wants 5..8, not %s", optarg);
			o->cfg.preset.cr = (uint8_t)u;
			break;
		case O_LOSS:
			if (!num_double(optarg, 0, 1, &d))
				usage_error("--loss wants a probability 0..1, not %s", optarg);
			o->loss = d;
			o->have_loss = true;
			break;
		case O_CAPTURE:
			if (!num_double(optarg, 0, 100, &d))
				usage_error("--capture-db wants dB (0..100), not %s", optarg);
			o->cfg.capture_db = d;
			break;
		case O_DETECT:
			if (!num_ulong(optarg, 64, &u))
				usage_error("--detect-symbols wants 0..64, not %s", optarg);
			o->cfg.detect_symbols = (unsigned)u;
			break;
		case O_CSMA: {
			int p = chan_csma_parse(optarg);
			if (p < 0)
				usage_error("--csma wants modem, host or firmware, not %s", optarg);
			o->cfg.csma = (enum chan_csma)p;
			break;
		}
		case 'v': o->verbose++; break;
		case 'h': {
			fputs(help_text_head, stdout);
			for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
				printf("    %s%s%s\n        %s.\n", ctl_cmds[i].name,
				       *ctl_cmds[i].args ? " " : "", ctl_cmds[i].args,
				       ctl_cmds[i].help);
			fputs(help_text_tail, stdout);
			exit(0);
		}
		case 'V':
			printf("meshair %s (MeshCore %s compatible)\n", ROOMD_VERSION,
			       ROOMD_MESHCORE_COMPAT);
			exit(0);
		case ':': usage_error("option %s needs an argument", argv[optind - 1]);
		default: usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument %s", argv[optind]);
	if (!o->listen)
		usage_error("--listen HOST:PORT is required");
}

static uint64_t clock_seed(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t s =
	    ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40);
	return s ? s : 1;
}

int main(int argc, char **argv)
{
	static struct app app;
	int rc = EXIT_RUNTIME;
	unsigned port;

	log_set_prefix("meshair");
	chan_config_default(&app.o.cfg);
	app.listen_fd = app.ctl_fd = -1;
	parse_args(&app.o, argc, argv);
	log_set_level(app.o.verbose >= 2 ? LOG_TRACE : app.o.verbose ? LOG_DEBUG : LOG_INFO);

	if (!split_hostport(app.o.listen, app.listen_host, sizeof(app.listen_host), &port))
		usage_error("--listen wants HOST:PORT, not %s", app.o.listen);
	char ctl_host[256];
	unsigned ctl_port = 0;
	if (app.o.control && !split_hostport(app.o.control, ctl_host, sizeof(ctl_host), &ctl_port))
		usage_error("--control wants HOST:PORT, not %s", app.o.control);
	if (app.o.topology)
		topo_load(&app, app.o.topology);
	else
		app.topo = (struct topo){.def = CHAN_LINK_DEFAULT, .mode = TOPO_MODE_FULL};
	if (app.o.have_loss)
		app.topo.def.loss = app.o.loss;
	app.o.cfg.default_link = app.topo.def;
	app.o.cfg.max_radios = (unsigned)app.n_named + MAX_ANON;
	if (!app.o.have_seed)
		app.o.seed = clock_seed();

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (app.o.trace) {
		app.trace = fopen(app.o.trace, "a");
		if (!app.trace) {
			log_err("main", "cannot open trace file %s: %s", app.o.trace,
			        strerror(errno));
			goto out;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &app.t0);
	rng_seeded_init(&app.seeded, &app.rng, app.o.seed);
	struct chan_ops ops = {.host_frame = on_host_frame, .tx_report = on_tx_report, .ctx = &app};
	app.ch = chan_new(&app.o.cfg, &ops, &app.rng, 0);
	app.by_radio = calloc(app.o.cfg.max_radios, sizeof(*app.by_radio));
	if (!app.ch || !app.by_radio) {
		log_err("main", "out of memory");
		goto out;
	}

	/* the topology's radios, unplugged until a client connects to their port */
	size_t nn = app.topo.n_radios;
	app.named = calloc(nn ? nn : 1, sizeof(*app.named));
	int *ids = calloc(nn ? nn : 1, sizeof(*ids));
	if (!app.named || !ids) {
		free(ids);
		log_err("main", "out of memory");
		goto out;
	}
	app.n_named = nn;
	int trc = topo_apply(&app.topo, app.ch, ids);
	for (size_t k = 0; k < app.n_named; k++) {
		app.named[k] = (struct named){.t = &app.topo.radios[k], .lfd = -1, .id = ids[k]};
		if (trc == ERR_OK)
			chan_radio_attach(app.ch, ids[k], false);
	}
	free(ids);
	if (trc) {
		log_err("main", "topology: %s", err_str(trc));
		goto out;
	}

	app.listen_fd = listen_on(app.listen_host, port, false, NULL);
	if (app.listen_fd < 0)
		goto out;
	app.listen_port = bound_port(app.listen_fd);
	log_info("net", "listening on %s:%u (anonymous radios)", app.listen_host, app.listen_port);
	for (size_t k = 0; k < app.n_named; k++) {
		struct named *r = &app.named[k];
		r->lfd = listen_on(app.listen_host, r->t->port, false, NULL);
		if (r->lfd < 0)
			goto out;
		r->bound = bound_port(r->lfd);
		log_info("net", "radio %s on %s:%u%s, csma %s", r->t->name, app.listen_host,
		         r->bound, r->t->down ? " (down)" : "",
		         chan_csma_name(r->t->has_csma ? r->t->csma : app.o.cfg.csma));
	}
	if (app.o.control) {
		bool not_lo = false;
		app.ctl_fd = listen_on(ctl_host, ctl_port, true, &not_lo);
		if (app.ctl_fd < 0) {
			if (not_lo) {
				fprintf(stderr,
				        "meshair: --control must be a loopback address, not %s\n",
				        ctl_host);
				rc = EXIT_USAGE;
			}
			goto out;
		}
		app.ctl_port = bound_port(app.ctl_fd);
		log_info("net", "control on %s:%u", ctl_host, app.ctl_port);
	}
	log_info("main",
	         "preset %.3f MHz, %.1f kHz, SF%u, CR 4/%u; %s topology; csma %s; seed %llu; ready",
	         app.o.cfg.preset.freq_hz / 1e6, app.o.cfg.preset.bw_hz / 1e3, app.o.cfg.preset.sf,
	         app.o.cfg.preset.cr, app.topo.mode == TOPO_MODE_LINKS ? "links" : "full",
	         chan_csma_name(app.o.cfg.csma), (unsigned long long)app.o.seed);

	rc = run(&app);
	trace_summary(&app);
out:
	for (int i = 0; i < MAX_CONNS; i++)
		if (app.conns[i])
			conn_close(&app, app.conns[i]);
	if (app.listen_fd >= 0)
		close(app.listen_fd);
	if (app.ctl_fd >= 0)
		close(app.ctl_fd);
	for (size_t k = 0; k < app.n_named; k++)
		if (app.named[k].lfd >= 0)
			close(app.named[k].lfd);
	if (app.trace)
		fclose(app.trace);
	chan_free(app.ch);
	free(app.by_radio);
	free(app.named);
	topo_free(&app.topo);
	return rc;
}
