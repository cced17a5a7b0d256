/*
 * kissprobe.c - checks that a LoRa modem answers (PROTOCOL.md §10.2).
 *
 *   kissprobe [-v] [--timeout MS] [--set [--freq MHZ] [--bw KHZ] [--sf N] [--cr N]
 *             [--tx DBM] [--txdelay N]] SPEC
 *
 * SPEC is a radio spec as roomd takes it: serial:/dev/ttyACM0[:BAUD] or
 * tcp:HOST:PORT.  Connects, waits for the modem's GetVersion answer, asks
 * what it knows (radio settings, TX power, noise floor, counters, battery,
 * name...), prints it all as one JSON object and exits 0; exits 1 if no
 * modem answered as MeshCore's kiss_modem in time (a device that cannot be
 * opened is tried again until then), 2 on bad usage: the exit codes of
 * roomd and roomc, and their units (MHz, kHz).
 * By default the probe is passive (it changes nothing but turning the
 * modem's signal reports on, their default); --set applies radio settings
 * (the firmware defaults unless given) as roomd would.
 */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kiss.h"
#include "radio/radio.h"
#include "sys/loop.h"
#include "util/err.h"
#include "util/json.h"
#include "util/num.h"
#include "util/log.h"
#include "util/version.h"

static void help(void)
{
	fputs("NAME\n"
	      "    kissprobe - check that a MeshCore KISS modem answers\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    kissprobe [-v] [--timeout MS] [--set [--freq MHZ] [--bw KHZ] [--sf N]\n"
	      "              [--cr N] [--tx DBM] [--txdelay N]] SPEC\n"
	      "    kissprobe --help | --version\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    Checks that a LoRa modem running MeshCore's kiss_modem firmware answers\n"
	      "    (PROTOCOL.md 10.2) before roomd or roomc is pointed at it.  Connects to\n"
	      "    SPEC, waits for the modem's answer to GetVersion, asks what it knows\n"
	      "    (radio settings, TX power, noise floor, RSSI, busy, counters, battery,\n"
	      "    device name, MCU temperature) and prints it all as one JSON object on\n"
	      "    standard output.  By default the probe changes nothing on the modem.\n"
	      "    A device that cannot be opened yet (a board still starting) is tried\n"
	      "    again, 250 ms, 500 ms, 1 s... apart, until the timeout.\n"
	      "\n"
	      "    SPEC is the radio syntax of roomd, roomc and meshair:\n"
	      "        serial:DEVICE[:BAUD]   a board on a serial port, 115200 8N1 by default\n"
	      "        tcp:HOST:PORT          KISS over TCP (meshair, or a KISS-TCP bridge)\n"
	      "\n"
	      "OPTIONS\n"
	      "    --timeout MS   how long to wait for the modem (100..600000, default 5000)\n"
	      "    --set          apply radio settings as roomd does at start: the firmware\n"
	      "                   defaults (869.618 MHz, 62.5 kHz, SF8, CR 4/5, 22 dBm,\n"
	      "                   TXDELAY 0, persistence 255) unless given below\n"
	      "    --freq MHZ (100..3000), --bw KHZ (7.8..1625), --sf N (5..12),\n"
	      "    --cr N (5..8), --tx DBM (-9..30; --power is the same),\n"
	      "    --txdelay N (0..255, units of 10 ms)\n"
	      "                   with --set: the values to apply, in the units of roomd\n"
	      "                   and roomc\n"
	      "    -v             log the KISS exchange on stderr (twice: every byte)\n"
	      "    -h, --help     this text\n"
	      "    --version      print the version\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 the modem answered; 1 no modem answered as kiss_modem within the\n"
	      "    timeout (the device could not be opened, or it is not kiss_modem);\n"
	      "    2 usage error.  The same codes as roomd and roomc.\n"
	      "\n"
	      "EXAMPLES\n"
	      "    kissprobe serial:/dev/ttyACM0\n"
	      "    kissprobe --set --freq 910.525 --bw 250 --sf 7 serial:/dev/ttyUSB0\n"
	      "    kissprobe tcp:127.0.0.1:7300\n",
	      stdout);
}

/* A usage error: one line and where to look. */
__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("kissprobe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'kissprobe --help'.\n", stderr);
	return 2;
}

/* A JSON string through the one writer (util/json.h); null if out of memory. */
static void put_json_str(const char *s)
{
	size_t len = strlen(s), n = json_str(NULL, 0, s, len);
	char *buf = malloc(n + 1);
	if (!buf) {
		fputs("null", stdout);
		return;
	}
	json_str(buf, n + 1, s, len);
	fwrite(buf, 1, n, stdout);
	free(buf);
}

/* The radio on the event loop (src/sys/loop.h) until done(r) or the deadline. */
struct probe {
	struct loop *loop;
	struct radio *r;
	struct loop_pollset watch; /* the radio's descriptors */
	struct loop_timer *timer;  /* its next deadline, at most 1 s away */
	int (*done)(struct radio *);
	uint64_t deadline;
};

/* The radio's timers, then what to wait for next; true when finished. */
static bool service(struct probe *p)
{
	uint64_t now = loop_now_ms();
	radio_tick(p->r, now);
	if (p->done(p->r) || now >= p->deadline || loop_signal(p->loop)) {
		loop_pollset_clear(&p->watch);
		loop_timer_stop(p->timer);
		return true;
	}
	struct pollfd fds[LOOP_POLLSET_MAX];
	int n = radio_pollfds(p->r, fds, LOOP_POLLSET_MAX);
	loop_pollset_set(&p->watch, fds, n < 0 ? 0 : n);
	uint64_t next = radio_next_deadline(p->r);
	if (next > p->deadline)
		next = p->deadline;
	loop_timer_in(p->timer, next <= now ? 0 : next - now > 1000 ? 1000 : next - now);
	return false;
}

static void on_timer(void *ctx)
{
	struct probe *p = ctx;
	if (service(p))
		loop_break(p->loop);
}

static void on_radio_fd(void *ctx, struct pollfd *fds, int n)
{
	struct probe *p = ctx;
	radio_handle(p->r, fds, n, loop_now_ms());
	if (service(p))
		loop_break(p->loop);
}

/* A stop signal ends the probe as it always did: killed by that signal. */
static void run_until(struct probe *p, int (*done)(struct radio *))
{
	p->done = done;
	if (!service(p))
		loop_run(p->loop);
	int sig = loop_signal(p->loop);
	if (sig) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
}

static int is_up(struct radio *r)
{
	return radio_link_up(r);
}
static int answered(struct radio *r)
{
	return radio_queries_pending(r) == 0;
}

static void print_json(struct radio *r, int up)
{
	const struct radio_stats *st = radio_stats(r);
	const struct radio_modem_info *m = &st->modem;

	printf("{\n  \"spec\": ");
	put_json_str(radio_spec(r));
	printf(",\n  \"link\": %s,\n  \"kiss_modem\": %s", up ? "true" : "false",
	       (m->known & RADIO_KNOWN_VERSION) ? "true" : "false");
	if (m->known & RADIO_KNOWN_VERSION)
		printf(",\n  \"version\": \"%u.%u\"", m->version_major, m->version_minor);
	if (m->known & RADIO_KNOWN_NAME) {
		printf(",\n  \"name\": ");
		put_json_str(m->name);
	}
	if (m->known & RADIO_KNOWN_RADIO) {
		printf(",\n  \"radio\": {\"freq_mhz\": %.9g, \"bw_khz\": %.9g, \"freq_hz\": %u, "
		       "\"bw_hz\": %u, \"sf\": %u, \"cr\": %u}",
		       m->radio.freq_hz / 1e6, m->radio.bw_hz / 1e3, m->radio.freq_hz,
		       m->radio.bw_hz, m->radio.sf, m->radio.cr);
		/* GetRadio reports what SetRadio last set: zeros since boot */
		if (!m->radio.freq_hz)
			printf(",\n  \"radio_note\": \"not set since boot: the modem runs its "
			       "build defaults\"");
	}
	if (m->known & RADIO_KNOWN_TX_POWER)
		printf(",\n  \"tx_power_dbm\": %d", m->tx_power_dbm);
	if (m->known & RADIO_KNOWN_NOISE_FLOOR)
		printf(",\n  \"noise_floor_dbm\": %d", m->noise_floor_dbm);
	if (m->known & RADIO_KNOWN_RSSI)
		printf(",\n  \"rssi_dbm\": %d", m->rssi_dbm);
	if (m->known & RADIO_KNOWN_BUSY)
		printf(",\n  \"channel_busy\": %s", m->channel_busy ? "true" : "false");
	if (m->known & RADIO_KNOWN_AIRTIME)
		printf(",\n  \"airtime_ms\": {\"len\": %u, \"ms\": %u}", m->airtime_len,
		       m->airtime_ms);
	if (m->known & RADIO_KNOWN_SIGNAL_REPORT)
		printf(",\n  \"signal_report\": %s", m->signal_report ? "true" : "false");
	if (m->known & RADIO_KNOWN_BATTERY)
		printf(",\n  \"battery_mv\": %u", m->battery_mv);
	if (m->known & RADIO_KNOWN_MCU_TEMP)
		printf(",\n  \"mcu_temp_c\": %.1f", m->mcu_temp_x10 / 10.0);
	if (m->known & RADIO_KNOWN_STATS)
		printf(",\n  \"modem_counters\": {\"rx\": %u, \"tx\": %u, \"rx_errors\": %u}",
		       m->rx_packets, m->tx_packets, m->rx_errors);
	printf(",\n  \"host\": {\"connect_failures\": %llu, \"kiss_frames\": %llu, "
	       "\"kiss_noise_bytes\": %llu, \"kiss_bad_escapes\": %llu, "
	       "\"unknown_frames\": %llu, \"modem_errors\": %llu, \"rx_frames\": %llu}\n}\n",
	       (unsigned long long)st->connect_failures, (unsigned long long)st->kiss_frames,
	       (unsigned long long)st->kiss_noise_bytes, (unsigned long long)st->kiss_bad_escapes,
	       (unsigned long long)st->unknown_frames, (unsigned long long)st->modem_errors,
	       (unsigned long long)st->rx_frames);
}

struct opts {
	struct radio_cfg cfg;
	const char *spec;
	long timeout_ms;
	int set, verbose;
};

/* One option that takes a value (val); 0, or the usage error's exit code. */
static int parse_value(struct opts *o, const char *a, const char *val)
{
	long v;
	double d;

	if (!strcmp(a, "--timeout")) {
		if (!num_long(val, 100, 600000, &v))
			return usage_error("--timeout wants ms (100..600000), not %s", val);
		o->timeout_ms = v;
	} else if (!strcmp(a, "--freq")) {
		if (!num_double(val, 100, 3000, &d))
			return usage_error("--freq wants MHz (100..3000), not %s", val);
		o->cfg.lp.freq_hz = (uint32_t)llround(d * 1e6);
	} else if (!strcmp(a, "--bw")) {
		if (!num_double(val, 7.8, 1625, &d))
			return usage_error("--bw wants kHz (7.8..1625), not %s", val);
		o->cfg.lp.bw_hz = (uint32_t)llround(d * 1e3);
	} else if (!strcmp(a, "--sf")) {
		if (!num_long(val, 5, 12, &v))
			return usage_error("--sf wants 5..12, not %s", val);
		o->cfg.lp.sf = (uint8_t)v;
	} else if (!strcmp(a, "--cr")) {
		if (!num_long(val, 5, 8, &v))
			return usage_error("--cr wants 5..8, not %s", val);
		o->cfg.lp.cr = (uint8_t)v;
	} else if (!strcmp(a, "--tx") || !strcmp(a, "--power")) {
		if (!num_long(val, -9, 30, &v))
			return usage_error("%s wants dBm (-9..30), not %s", a, val);
		o->cfg.tx_power_dbm = (int)v;
	} else if (!strcmp(a, "--txdelay")) {
		if (!num_long(val, 0, 255, &v))
			return usage_error("--txdelay wants 0..255 (10 ms units), not %s", val);
		o->cfg.txdelay_10ms = (int)v;
	}
	return 0;
}

/* The options; -1 to go on, else the exit code (--help, --version, usage). */
static int parse_args(struct opts *o, int argc, char **argv)
{
	static const char *const takes_value[] = {"--timeout", "--freq", "--bw",    "--sf",
	                                          "--cr",      "--tx",   "--power", "--txdelay"};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = false;
		for (size_t k = 0; k < sizeof(takes_value) / sizeof(takes_value[0]); k++)
			takes = takes || !strcmp(a, takes_value[k]);
		if (takes && !val)
			return usage_error("%s needs a value", a);
		if (takes) {
			int rc = parse_value(o, a, val);
			if (rc)
				return rc;
			i++;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help();
			return 0;
		} else if (!strcmp(a, "--version")) {
			printf("kissprobe %s (MeshCore %s compatible)\n", ROOMD_VERSION,
			       ROOMD_MESHCORE_COMPAT);
			return 0;
		} else if (!strcmp(a, "-v")) {
			o->verbose++;
		} else if (!strcmp(a, "--set")) {
			o->set = 1;
		} else if (a[0] == '-') {
			return usage_error("unknown option %s", a);
		} else if (o->spec) {
			return usage_error("one SPEC only (got %s and %s)", o->spec, a);
		} else {
			o->spec = a;
		}
	}
	if (!o->spec)
		return usage_error("a radio SPEC is required (serial:DEVICE or tcp:HOST:PORT)");
	return -1;
}

/* Once the modem is up: everything it can tell, answered or not by the deadline. */
static void ask_all(struct probe *p)
{
	static const uint8_t queries[] = {
	    KISS_HW_GET_DEVICE_NAME,
	    KISS_HW_GET_RADIO,
	    KISS_HW_GET_TX_POWER,
	    KISS_HW_GET_NOISE_FLOOR,
	    KISS_HW_GET_CURRENT_RSSI,
	    KISS_HW_IS_CHANNEL_BUSY,
	    KISS_HW_GET_STATS,
	    KISS_HW_GET_BATTERY,
	    KISS_HW_GET_MCU_TEMP,
	    KISS_HW_GET_SIGNAL_REPORT,
	    KISS_HW_PING,
	};
	for (size_t i = 0; i < sizeof(queries); i++)
		(void)radio_query(p->r, queries[i], NULL, 0);
	uint8_t len = RADIO_MAX_FRAME;
	(void)radio_query(p->r, KISS_HW_GET_AIRTIME, &len, 1);
	run_until(p, answered);
}

int main(int argc, char **argv)
{
	struct opts o = {.cfg = RADIO_CFG_DEFAULT, .timeout_ms = 5000};
	struct probe p = {0};

	log_set_prefix("kissprobe");
	log_set_level(LOG_WARN);
	int rc = parse_args(&o, argc, argv);
	if (rc >= 0)
		return rc;
	if (o.verbose)
		log_set_level(o.verbose > 1 ? LOG_TRACE : LOG_DEBUG);
	if (!o.set) {
		/* passive: neither SetRadio, SetTxPower nor the KISS timing bytes */
		o.cfg.lp = (struct lora_params){0};
		o.cfg.txdelay_10ms = -1;
		o.cfg.persistence = -1;
		o.cfg.slottime_10ms = -1;
	}
	if (loop_open(&p.loop) < 0)
		return 1;
	loop_pollset_init(&p.watch, p.loop, on_radio_fd, &p);
	p.timer = loop_timer_new(p.loop, on_timer, &p);
	uint64_t start = loop_now_ms();
	p.deadline = start + (uint64_t)o.timeout_ms;
	if (!p.timer || radio_open(&p.r, o.spec, &o.cfg, NULL, start) < 0) {
		loop_timer_free(p.timer);
		loop_close(p.loop);
		return p.timer ? usage_error("bad radio SPEC %s (serial:DEVICE[:BAUD] or "
		                             "tcp:HOST:PORT)",
		                             o.spec)
		               : 1;
	}
	run_until(&p, is_up);
	int up = radio_link_up(p.r);
	if (up)
		ask_all(&p);
	print_json(p.r, up);
	int ok = up && (radio_stats(p.r)->modem.known & RADIO_KNOWN_VERSION);
	if (!ok)
		fprintf(stderr, "kissprobe: %s: %s\n", o.spec,
		        !up ? "could not connect within the timeout (see the messages above)"
		            : "the modem does not answer GetVersion: is it running MeshCore's "
		              "kiss_modem firmware at this baud rate?");
	radio_close(p.r);
	loop_pollset_clear(&p.watch);
	loop_timer_free(p.timer);
	loop_close(p.loop);
	return ok ? 0 : 1;
}
