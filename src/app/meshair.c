/*
 * meshair.c - a simulated LoRa channel on TCP (PROTOCOL.md §10.2, §11):
 * options, the topology file and the event loop; the server itself (sockets,
 * control commands, trace) is src/sim/airserv.c and src/sim/airctl.c, the
 * channel model src/sim/channel.c.
 *
 * Radios named in the topology file own a TCP port each (a client
 * connecting there IS that radio; a second client is refused); connections
 * to --listen are anonymous radios that come and go with their connection.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/airserv.h"
#include "sim/channel.h"
#include "sim/topo.h"
#include "sys/loop.h"
#include "util/err.h"
#include "util/log.h"
#include "util/num.h"
#include "util/version.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

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

struct opts {
	const char *listen, *topology, *control, *trace;
	uint64_t seed;
	bool have_seed, have_loss;
	double loss;
	struct chan_config cfg;
	int verbose;
};

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

static void topo_load(struct topo *t, const char *file)
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
	int rc = topo_parse(t, text, len, &line, err, sizeof(err));
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

/* ---- options ------------------------------------------------------------------ */

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

static const struct option long_opts[] = {
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

/* The channel options: the preset and the channel's physics. */
static void parse_channel_opt(struct chan_config *cfg, int c, const char *arg)
{
	double d;
	unsigned long long u;

	switch (c) {
	case O_FREQ:
		if (!num_double(arg, 100, 3000, &d))
			usage_error("--freq wants MHz (100..3000), not %s", arg);
		cfg->preset.freq_hz = (uint32_t)llround(d * 1e6);
		break;
	case O_BW:
		if (!num_double(arg, 7.8, 1625, &d))
			usage_error("--bw wants kHz (7.8..1625), not %s", arg);
		cfg->preset.bw_hz = (uint32_t)llround(d * 1e3);
		break;
	case O_SF:
		if (!num_ulong(arg, 12, &u) || u < 5)
			usage_error("--sf wants 5..12, not %s", arg);
		cfg->preset.sf = (uint8_t)u;
		break;
	case O_CR:
		if (!num_ulong(arg, 8, &u) || u < 5)
			usage_error("--cr wants 5..8, not %s", arg);
		cfg->preset.cr = (uint8_t)u;
		break;
	case O_CAPTURE:
		if (!num_double(arg, 0, 100, &d))
			usage_error("--capture-db wants dB (0..100), not %s", arg);
		cfg->capture_db = d;
		break;
	case O_DETECT:
		if (!num_ulong(arg, 64, &u))
			usage_error("--detect-symbols wants 0..64, not %s", arg);
		cfg->detect_symbols = (unsigned)u;
		break;
	case O_CSMA: {
		int p = chan_csma_parse(arg);
		if (p < 0)
			usage_error("--csma wants modem, host or firmware, not %s", arg);
		cfg->csma = (enum chan_csma)p;
		break;
	}
	}
}

static void print_help(void)
{
	fputs(help_text_head, stdout);
	airserv_print_commands(stdout);
	fputs(help_text_tail, stdout);
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	int c;
	double d;
	unsigned long long u;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", long_opts, NULL)) != -1) {
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
		case O_LOSS:
			if (!num_double(optarg, 0, 1, &d))
				usage_error("--loss wants a probability 0..1, not %s", optarg);
			o->loss = d;
			o->have_loss = true;
			break;
		case O_FREQ:
		case O_BW:
		case O_SF:
		case O_CR:
		case O_CAPTURE:
		case O_DETECT:
		case O_CSMA: parse_channel_opt(&o->cfg, c, optarg); break;
		case 'v': o->verbose++; break;
		case 'h': print_help(); exit(0);
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

/* ---- main ----------------------------------------------------------------------- */

static void on_quit(void *ctx)
{
	loop_break(ctx);
}

struct hosts {
	char listen[256], ctl[256];
};

/* The server's configuration and topology from the options (usage errors exit 2). */
static void server_config(const struct opts *o, struct airserv_cfg *sc, struct hosts *h,
                          struct topo *topo)
{
	unsigned port, ctl_port = 0;

	if (!split_hostport(o->listen, h->listen, sizeof(h->listen), &port))
		usage_error("--listen wants HOST:PORT, not %s", o->listen);
	if (o->control && !split_hostport(o->control, h->ctl, sizeof(h->ctl), &ctl_port))
		usage_error("--control wants HOST:PORT, not %s", o->control);
	if (o->topology)
		topo_load(topo, o->topology);
	else
		*topo = (struct topo){.def = CHAN_LINK_DEFAULT, .mode = TOPO_MODE_FULL};
	if (o->have_loss)
		topo->def.loss = o->loss;
	*sc = (struct airserv_cfg){
	    .listen_host = h->listen,
	    .listen_port = port,
	    .ctl_host = o->control ? h->ctl : NULL,
	    .ctl_port = ctl_port,
	    .trace = o->trace,
	    .seed = o->have_seed ? o->seed : clock_seed(),
	    .chan = o->cfg,
	};
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct hosts h;
	struct airserv_cfg sc;
	struct topo topo;
	struct loop *lp = NULL;
	struct airserv *srv = NULL;

	log_set_prefix("meshair");
	chan_config_default(&o.cfg);
	parse_args(&o, argc, argv);
	log_set_level(o.verbose >= 2 ? LOG_TRACE : o.verbose ? LOG_DEBUG : LOG_INFO);
	server_config(&o, &sc, &h, &topo);
	signal(SIGPIPE, SIG_IGN);

	int rc = loop_open(&lp);
	if (rc == ERR_OK) {
		sc.on_quit = on_quit;
		sc.ctx = lp;
		rc = airserv_open(&srv, loop_base(lp), &sc, &topo);
	}
	if (rc == ERR_PERM)
		fprintf(stderr, "meshair: --control must be a loopback address, not %s\n", h.ctl);
	if (rc == ERR_OK) {
		log_info(
		    "main",
		    "preset %.3f MHz, %.1f kHz, SF%u, CR 4/%u; %s topology; csma %s; seed %llu; "
		    "ready",
		    sc.chan.preset.freq_hz / 1e6, sc.chan.preset.bw_hz / 1e3, sc.chan.preset.sf,
		    sc.chan.preset.cr, topo.mode == TOPO_MODE_LINKS ? "links" : "full",
		    chan_csma_name(sc.chan.csma), (unsigned long long)sc.seed);
		rc = loop_run(lp);
		if (loop_signal(lp))
			log_info("main", "%s: exiting", strsignal(loop_signal(lp)));
	}
	airserv_free(srv);
	loop_close(lp);
	topo_free(&topo);
	return rc == ERR_OK ? 0 : rc == ERR_PERM ? EXIT_USAGE : EXIT_RUNTIME;
}
