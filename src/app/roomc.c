/*
 * roomc.c - the room client for Linux: a person (or a script) at a KISS
 * modem, or on meshair, uses MeshCore room servers the way the MeshCore app
 * does (PROTOCOL.md §9).
 *
 * Wiring: the radio (radio.h) feeds the mesh (mesh.h) through node_open()
 * (mesh/node.h), the client state machine (client/client.h) sits on the
 * mesh, and the program's parts (client/roomc.h: state, output, commands) on
 * the client.  This file owns what they do not: the options, the queue of
 * commands waiting to run, and the event loop (sys/loop.h: stdin, the
 * radio's descriptors and one timer as events; SIGINT, SIGTERM and SIGHUP
 * end the run, state saved).
 *
 * Two faces over one command table: the interactive mode (a line editor,
 * one current room, "/command" lines, anything else is posted) and --json
 * (one command per input line, one JSON event per output line).
 */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/roomc.h"
#include "crypto/crypto.h"
#include "mesh/mesh.h"
#include "mesh/node.h"
#include "radio/radio.h"
#include "sys/config.h"
#include "sys/loop.h"
#include "sys/sys.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/num.h"
#include "util/version.h"

/* The program: roomc's state (roomc.h) and what wires it to the radio and the loop. */
struct prog {
	struct roomc a;
	struct mesh mesh;
	struct node_link link; /* the radio <-> mesh glue (mesh/node.h) */
	struct radio *radio;
	struct loop *loop;
	struct loop_timer *timer; /* rearmed to the next deadline by service() */
	struct loop_fd *ev_stdin; /* while commands are read */
	struct loop_pollset radio_watch;
	bool done; /* service() ended the run */
};

/* ---- radio glue (node.h) ---- */

static int radio_transmit(void *ctx, const uint8_t *frame, size_t len)
{
	struct prog *p = ctx;
	return radio_send(p->radio, frame, len);
}

static uint64_t now_ms(void *ctx)
{
	(void)ctx;
	return app_now_ms();
}

/* The packet-log hook: frames in and out, at -vv. */
static void on_packet(void *ctx, bool tx, const uint8_t *frame, size_t len, int snr_x4, int rssi)
{
	(void)ctx;
	(void)snr_x4;
	(void)rssi;
	log_hex("roomc", tx ? "tx" : "rx", frame, len);
}

static void autologin_cb(void *ctx, const uint8_t room[CRYPTO_PUB_SIZE], const char *pw)
{
	struct roomc *a = ctx;
	char name[128];
	struct client_contact *ct = client_contact_find(a->c, room);
	if (!ct)
		return;
	struct client_room *rs = client_room_find(a->c, room);
	if (rs && rs->login != CLIENT_LOGIN_NONE)
		return;
	if (client_login(a->c, room, pw, app_now_ms()) != ERR_OK)
		return;
	struct roomc_view *v = roomc_view_find(a, room, true);
	if (v) {
		v->login_pending = true;
		snprintf(v->login_pw, sizeof(v->login_pw), "%s", pw);
	}
	if (a->json) {
		char buf[512];
		struct jsonl_w w;
		roomc_json_begin(a, &w, buf, sizeof(buf), RCE_AUTOLOGIN);
		roomc_json_room(&w, ct);
		roomc_json_emit(a, &w);
	} else {
		roomc_say(a, "* logging in to %s (remembered password)…",
		          roomc_label(ct, name, sizeof(name)));
		roomc_update_prompt(a);
	}
}

static void radio_link(void *ctx, int up)
{
	struct roomc *a = &((struct prog *)ctx)->a;
	bool first = up && !a->ever_up;
	a->link_up = up;
	if (up)
		a->ever_up = true;
	if (a->json) {
		char buf[1024];
		struct jsonl_w w;
		roomc_json_begin(a, &w, buf, sizeof(buf), RCE_RADIO);
		jsonl_w_bool(&w, "up", up);
		jsonl_w_cstr(&w, "spec", a->radio_spec);
		roomc_json_emit(a, &w);
	} else {
		roomc_say(a, up ? "* radio %s connected" : "* radio %s lost: reconnecting…",
		          a->radio_spec);
		roomc_update_prompt(a);
	}
	if (first) {
		if (a->advert_at_start)
			client_advert(a->c, true, app_now_ms());
		if (a->autologin)
			cstore_passwords_each(&a->store, autologin_cb, a);
	}
}

static void queue_line(struct roomc *a, const char *line)
{
	if (a->n_pending == a->cap_pending) {
		int cap = a->cap_pending ? 2 * a->cap_pending : 64;
		char **p = realloc(a->pending, sizeof(*p) * (size_t)cap);
		if (!p) {
			roomc_error(a, line, "out of memory; dropped");
			return;
		}
		a->pending = p;
		a->cap_pending = cap;
	}
	char *copy = strdup(line);
	if (!copy) {
		roomc_error(a, line, "out of memory; dropped");
		return;
	}
	a->pending[a->n_pending++] = copy;
}

/* Queues the -c commands that fit below ROOMC_PENDING_MAX; input is done after the last. */
static void feed_argv(struct roomc *a)
{
	while (a->next_argv < a->n_argv_cmds && a->n_pending < ROOMC_PENDING_MAX)
		queue_line(a, a->argv_cmds[a->next_argv++]);
	if (a->n_argv_cmds && a->next_argv == a->n_argv_cmds)
		a->input_done = true;
}

/* Runs queued lines while nothing holds them up; returns how many ran. */
static int run_pending(struct roomc *a)
{
	int ran = 0;
	while (!a->quit) {
		/* wait: also for the radio, and the logins it starts */
		if (a->wait == ROOMC_WAIT_IDLE && (client_busy(a->c) || !a->ever_up))
			return ran;
		if (a->wait == ROOMC_WAIT_SLEEP && app_now_ms() < a->wait_until)
			return ran;
		a->wait = ROOMC_WAIT_NONE;
		if (!a->n_pending)
			return ran;
		if (!a->link_up && roomc_needs_radio(a, a->pending[0]))
			return ran;
		char *line = a->pending[0];
		char *again = strdup(line); /* run_line edits its line */
		if (!again)
			return ran;
		memmove(a->pending, a->pending + 1,
		        sizeof(a->pending[0]) * (size_t)(a->n_pending - 1));
		a->n_pending--;
		a->retry = false;
		roomc_run_line(a, line);
		free(line);
		if (a->retry) {
			/* the room's queue is full: this line, and those after it,
			 * wait until an operation ends (order is kept) */
			a->retry = false;
			memmove(a->pending + 1, a->pending,
			        sizeof(a->pending[0]) * (size_t)a->n_pending);
			a->pending[0] = again;
			a->n_pending++;
			return ran;
		}
		free(again);
		ran++;
	}
	return ran;
}

static void on_line(void *ctx, char *line)
{
	struct roomc *a = ctx;
	if (!line) {
		/* a person at a terminal who types ^D means it; a script's end of
		 * input lets pending operations finish (--wait) */
		a->stdin_open = false;
		if (!a->json && a->ed.tty)
			a->quit = true;
		else
			a->input_done = true;
		return;
	}
	if (a->ed.cut) {
		/* a line that did not fit is refused whole: never post part of it */
		roomc_error(a, NULL,
		            "line too long (%zu bytes, at most %d): nothing was %s; post it in "
		            "pieces",
		            strlen(line) + a->ed.cut, LINED_MAX - 1, a->json ? "run" : "posted");
		return;
	}
	if (a->json) {
		queue_line(a, line);
		return;
	}
	/* interactive: at once, except radio commands while the radio is down,
	 * and radio commands typed while earlier ones wait */
	if (a->n_pending && roomc_needs_radio(a, line)) {
		roomc_say(a, "* waiting behind %d earlier line%s", a->n_pending,
		          a->n_pending == 1 ? "" : "s");
		queue_line(a, line);
		return;
	}
	if (!a->link_up && roomc_needs_radio(a, line)) {
		roomc_say(a, "* the radio is not connected yet: this will go out once it is");
		queue_line(a, line);
		return;
	}
	char *again = strdup(line);
	a->retry = false;
	roomc_run_line(a, line);
	if (a->retry && again) {
		a->retry = false;
		roomc_say(
		    a, "* %d operations already wait for this room: this one goes out after them",
		    CLIENT_QUEUE_MAX);
		queue_line(a, again);
	}
	free(again);
	roomc_update_prompt(a);
}

/* ---- the event loop (sys/loop.h) ---- */

/*
 * The end of a script's input ends the program once nothing is pending, or
 * after --wait seconds without progress (a command run, or a sleep going on).
 */
static bool input_finished(struct roomc *a, uint64_t now, int ran)
{
	if (!a->input_done)
		return false;
	if (!a->n_pending && a->wait == ROOMC_WAIT_NONE && !client_busy(a->c))
		return true;
	if (ran || !a->done_deadline || a->wait == ROOMC_WAIT_SLEEP) {
		a->done_deadline = now + (uint64_t)a->wait_s * 1000;
	} else if (now >= a->done_deadline) {
		roomc_error(a, NULL, "gave up after %u s: %s", a->wait_s,
		            !a->ever_up ? "the radio never connected" : "operations still pending");
		return true;
	}
	return false;
}

/* Milliseconds to the earliest deadline, 1 s at most. */
static uint64_t next_wait(struct prog *p, uint64_t now)
{
	struct roomc *a = &p->a;
	uint64_t next = mesh_next_deadline(&p->mesh);
	next = u64_min(next, client_next_deadline(a->c));
	next = u64_min(next, radio_next_deadline(p->radio));
	if (a->dirty)
		next = u64_min(next, a->save_due);
	if (a->wait == ROOMC_WAIT_SLEEP)
		next = u64_min(next, a->wait_until);
	if (a->done_deadline)
		next = u64_min(next, a->done_deadline);
	return next == UINT64_MAX ? 1000 : next <= now ? 0 : u64_min(next - now, 1000);
}

static void service(struct prog *p);

static void on_stdin(void *ctx, int fd, short revents)
{
	struct prog *p = ctx;
	(void)fd;
	(void)revents;
	if (lined_read(&p->a.ed) == ERR_SYS && p->a.stdin_open) {
		/* not readable (a directory, a terminal gone): the end of the
		 * commands, said, rather than read again and again for ever */
		roomc_error(&p->a, NULL, "cannot read the commands: %s", strerror(errno));
		on_line(&p->a, NULL);
	}
	service(p);
}

/* Standard input is read while it is open and fewer than ROOMC_PENDING_MAX commands wait. */
static void watch_stdin(struct prog *p)
{
	bool want = p->a.stdin_open && p->a.n_pending < ROOMC_PENDING_MAX;
	if (want && !p->ev_stdin) {
		p->ev_stdin = loop_fd_new(p->loop, STDIN_FILENO, POLLIN, on_stdin, p);
		if (!p->ev_stdin)
			p->a.stdin_open = false; /* logged by the loop */
	} else if (!want && p->ev_stdin) {
		loop_fd_free(p->ev_stdin);
		p->ev_stdin = NULL;
	}
}

/* The descriptors the radio asks for now (they change as it reconnects). */
static void radio_watch(struct prog *p)
{
	struct pollfd fds[LOOP_POLLSET_MAX];
	int n = radio_pollfds(p->radio, fds, LOOP_POLLSET_MAX);
	loop_pollset_set(&p->radio_watch, fds, n);
}

/*
 * Work due now (radio, mesh, client, the commands waiting), then the end of
 * the run or what to wait for: stdin, the radio's descriptors, the timer at
 * the earliest deadline.  Runs after every event.
 */
static void service(struct prog *p)
{
	struct roomc *a = &p->a;
	uint64_t now = app_now_ms();

	if (!p->done && !loop_signal(p->loop) && !a->quit) {
		client_set_rtc(a->c, now, (uint32_t)(app_wall_ms() / 1000));
		radio_tick(p->radio, now);
		mesh_tick(&p->mesh, now);
		client_tick(a->c, now);
		feed_argv(a);
		int ran = run_pending(a);
		mesh_tick(&p->mesh, now);
		if (a->dirty && now >= a->save_due)
			roomc_save_now(a);
		if (!a->quit && !input_finished(a, now, ran)) {
			watch_stdin(p);
			radio_watch(p);
			loop_timer_in(p->timer, next_wait(p, now));
			return;
		}
	}
	p->done = true;
	loop_break(p->loop);
}

static void on_timer(void *ctx)
{
	service(ctx);
}

static void on_radio_fd(void *ctx, struct pollfd *fds, int n)
{
	struct prog *p = ctx;
	uint64_t now = app_now_ms();
	mesh_tick(&p->mesh, now);
	radio_handle(p->radio, fds, n, now);
	service(p);
}

/* The loop with its fixed events: stop signals, the timer, the radio's descriptors. */
static int loop_start(struct prog *p)
{
	int rc = loop_open(&p->loop);
	if (rc == ERR_OK)
		rc = loop_stop_on(p->loop, SIGHUP); /* the terminal went away */
	if (rc == ERR_OK && !(p->timer = loop_timer_new(p->loop, on_timer, p)))
		rc = ERR_NOMEM;
	if (rc) {
		fprintf(stderr, "roomc: event loop: %s\n", err_str(rc));
		return 1;
	}
	loop_pollset_init(&p->radio_watch, p->loop, on_radio_fd, p);
	return 0;
}

/* Frees the loop's events and the loop. */
static void loop_end(struct prog *p)
{
	if (!p->loop)
		return;
	loop_pollset_clear(&p->radio_watch);
	loop_fd_free(p->ev_stdin);
	loop_timer_free(p->timer);
	loop_close(p->loop);
	p->loop = NULL;
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fputs(
	    "NAME\n"
	    "    roomc - MeshCore room client for Linux\n"
	    "\n"
	    "SYNOPSIS\n"
	    "    roomc --data DIR --radio SPEC [OPTIONS]\n"
	    "    roomc --data DIR --radio SPEC --json [-c COMMAND]... [--wait SECONDS]\n"
	    "\n"
	    "DESCRIPTION\n"
	    "    roomc uses MeshCore room servers (firmware v1.17.1, or roomd) the way the\n"
	    "    MeshCore app does with a companion radio: rooms appear in the contacts as\n"
	    "    their adverts are heard, you log in with a password, post and see each post\n"
	    "    delivered, and when you come back the room pushes what you missed.\n"
	    "\n"
	    "    A post is sent with the firmware clients' retry policy: the same timestamp\n"
	    "    every time, attempts 0, 1 and 2 along the known route, then the route is\n"
	    "    forgotten and attempt 3 is flooded; it is \"delivered\" when the room's ACK\n"
	    "    arrives, \"failed\" when the last attempt times out. A room never answers a\n"
	    "    wrong password, so a failed login is reported after a timeout: the one the\n"
	    "    firmware companion gives the app (500 ms + 16 x the login's airtime by\n"
	    "    flood, about 8 s at the default preset; a second flood goes out halfway).\n"
	    "    A post needs a login: typed while one is under way it waits for it (and\n"
	    "    fails, unsent, if the login fails); typed with none it is refused (unless\n"
	    "    --no-login). A login whose answer was lost is noticed when the room ACKs\n"
	    "    a post or pushes one. A line holds at most 1023 bytes: a longer one is\n"
	    "    refused whole. Pushed posts are acknowledged exactly as the firmware\n"
	    "    client does, kept in DIR and shown once even when a room pushes one\n"
	    "    twice. Several rooms can be used at once, each with its own login, sync\n"
	    "    point and history. Passwords that worked are remembered\n"
	    "    (DIR/passwords.jsonl, mode 0600) and used to log in again at the next\n"
	    "    start.\n"
	    "\n"
	    "    Interactive mode (the default) is a line-oriented terminal client: pick a\n"
	    "    room with /room NAME, type text to post it, /help lists the commands. The\n"
	    "    prompt shows the current room and the number of unread posts elsewhere.\n"
	    "\n"
	    "    With --json, roomc reads one command per line from standard input (or from\n"
	    "    -c arguments) and writes one JSON object per line for each event. Any\n"
	    "    number of commands may be queued: while 16 operations wait for one room\n"
	    "    (the client's queue), later commands wait in order until one ends.\n"
	    "\n"
	    "OPTIONS\n"
	    "    -d, --data DIR        data directory (created if missing): identity, contacts,\n"
	    "                          passwords, history\n"
	    "    -r, --radio SPEC      tcp:HOST:PORT (meshair or any KISS-TCP server) or\n"
	    "                          serial:DEVICE[:BAUD] (a board running MeshCore kiss_modem)\n"
	    "        --json            scriptable mode: commands in, JSON events out\n"
	    "    -c, --command CMD     a --json command to run (repeatable; stdin is then not "
	    "read)\n"
	    "        --wait SECONDS    --json: at the end of the commands, wait at most this long\n"
	    "                          for pending posts, logins and requests (default 60)\n"
	    "    -n, --name NAME       our name in adverts (remembered; default roomc-KEYPREFIX)\n"
	    "        --location LAT,LON  put a position in our adverts\n"
	    "        --advert          send our advert (flood) when the radio comes up\n"
	    "        --keepalive SECONDS  send keep-alives to logged-in rooms this often\n"
	    "                          (off by default, as in the v1.17.1 companion)\n"
	    "        --no-login        do not log in again with remembered passwords at start;\n"
	    "                          posts then go out without a login (a room that still\n"
	    "                          knows you takes them) instead of being refused\n"
	    "        --no-remember     do not remember passwords that worked\n"
	    "        --freq MHZ, --bw KHZ, --sf N, --cr N, --tx DBM\n"
	    "                          radio settings sent to the modem (firmware defaults:\n"
	    "                          869.618 MHz, 62.5 kHz, SF8, CR 4/5, 22 dBm)\n"
	    "        --timeout-factor X  scale the firmware's suggested timeouts (default 1)\n"
	    "    -v, --verbose         more logging on stderr (repeat for frame dumps)\n"
	    "    -q, --quiet           errors only\n"
	    "    -h, --help            this text\n"
	    "        --version         print the version\n"
	    "\n"
	    "COMMANDS\n"
	    "    Interactive mode: text is posted to the current room; commands start with /.\n"
	    "    In --json mode commands have no slash, and ROOM is a room's name (quote it\n"
	    "    with \"...\" if it has spaces, or write it whole), a unique name prefix, or a\n"
	    "    hex prefix of its key.\n"
	    "    contacts              the nodes heard: name, type, hops, last heard, route\n"
	    "    rooms                 rooms with login state, role and unread count\n"
	    "    /room NAME            (interactive) switch room and show what is new\n"
	    "    login ROOM [PASSWORD] log in; an empty password is \"\" or nothing (in\n"
	    "                          interactive mode a bare /login uses the remembered one)\n"
	    "    post ROOM TEXT        post (logged in, or a login under way); text over 150\n"
	    "                          bytes is split into several posts, and says so\n"
	    "    cli ROOM COMMAND      an admin command (the room's CLI), e.g. cli Room get name\n"
	    "    status ROOM           the room's status (uptime, battery, radio counters)\n"
	    "    telemetry ROOM        the room's telemetry (voltage, temperature)\n"
	    "    acl ROOM              the room's admins (admins only)\n"
	    "    history ROOM [N]      the last N posts kept in DIR\n"
	    "    forget ROOM           forget the remembered password\n"
	    "    advert [zerohop]      send our advert\n"
	    "    add KEY [NAME]        add a room by its 64-hex-digit key without its advert\n"
	    "    rename CONTACT NAME   name a contact yourself; its adverts no longer rename it\n"
	    "                          (an empty NAME gives the naming back to them)\n"
	    "    remove CONTACT        forget a contact, its route, session and remembered\n"
	    "                          password (history stays in DIR); its next advert adds\n"
	    "                          it again. CONTACT: a name (\"quoted\" with spaces) or key\n"
	    "                          prefix\n"
	    "    reset_path ROOM       forget the route: the next sends flood\n"
	    "    wait                  (--json) hold later commands until nothing is pending\n"
	    "    sleep SECONDS         (--json) hold later commands for a while\n"
	    "    quit                  leave (end of input does too)\n"
	    "\n"
	    "JSON EVENTS\n"
	    "    One object per line, with \"event\" and \"time\" (our clock, epoch seconds);\n"
	    "    events about a room carry \"room\" (its name) and \"key\" (64 hex digits).\n",
	    f);
	roomc_print_events(f);
	fputs("\n"
	      "FILES\n"
	      "    DIR/identity              our key pair, pub(32) || prv(64), mode 0600\n"
	      "    DIR/contacts.jsonl        contacts, one JSON object per line\n"
	      "    DIR/passwords.jsonl       remembered passwords {room, password}, mode 0600\n"
	      "    DIR/history/KEY.jsonl     per room: posts {ts, author, text, at[, self]} and\n"
	      "                              outcomes of ours {type: ack, ts, ok}; append-only\n"
	      "    DIR/state.jsonl           newest timestamp used, advert name\n"
	      "    DIR/roomc.log             interactive mode's log (unless -v)\n"
	      "    DIR/lock                  held while roomc runs: one roomc per DIR\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0  done (--json: every operation succeeded)\n"
	      "    1  runtime error; --json: some operation failed (error, failed, login_timeout,\n"
	      "       login_failed or timeout event) or was still pending after --wait\n"
	      "    2  usage error\n"
	      "\n"
	      "EXAMPLES\n"
	      "    scripts/demo &        # meshair on 127.0.0.1:7300 and a room server\n"
	      "    roomc --data ~/.roomc --radio tcp:127.0.0.1:7300\n"
	      "        /rooms\n"
	      "        /room roomd\n"
	      "        /login hello\n"
	      "        Hello everyone!\n"
	      "\n"
	      "    roomc -d ~/.roomc -r tcp:127.0.0.1:7300 --json -c 'login roomd hello' \\\n"
	      "          -c wait -c 'post roomd hi from a script' --wait 30\n"
	      "\n"
	      "    roomc -d ~/.roomc -r serial:/dev/ttyACM0 --keepalive 300\n",
	      f);
}

/* What the command line sets besides struct roomc, and what the start found. */
struct opts {
	const char *data, *name;
	int verbose;
	struct client_cfg ccfg;
	int n_contacts;
	bool created; /* a new identity */
};

enum {
	O_JSON = 256,
	O_WAIT,
	O_LOC,
	O_ADVERT,
	O_KA,
	O_NOLOGIN,
	O_NOREM,
	O_FREQ,
	O_BW,
	O_SF,
	O_CR,
	O_TX,
	O_TF,
	O_VERSION
};

static const struct option long_opts[] = {
    {"data", required_argument, 0, 'd'},
    {"radio", required_argument, 0, 'r'},
    {"json", no_argument, 0, O_JSON},
    {"command", required_argument, 0, 'c'},
    {"wait", required_argument, 0, O_WAIT},
    {"name", required_argument, 0, 'n'},
    {"location", required_argument, 0, O_LOC},
    {"advert", no_argument, 0, O_ADVERT},
    {"keepalive", required_argument, 0, O_KA},
    {"no-login", no_argument, 0, O_NOLOGIN},
    {"no-remember", no_argument, 0, O_NOREM},
    {"freq", required_argument, 0, O_FREQ},
    {"bw", required_argument, 0, O_BW},
    {"sf", required_argument, 0, O_SF},
    {"cr", required_argument, 0, O_CR},
    {"tx", required_argument, 0, O_TX},
    {"timeout-factor", required_argument, 0, O_TF},
    {"verbose", no_argument, 0, 'v'},
    {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, O_VERSION},
    {0, 0, 0, 0},
};

/* --location LAT,LON in degrees. */
static bool parse_location(const char *s, struct client_cfg *ccfg)
{
	char lat_s[64];
	const char *comma = strchr(s, ',');
	double lat, lon;
	if (!comma || (size_t)(comma - s) >= sizeof(lat_s))
		return false;
	memcpy(lat_s, s, (size_t)(comma - s));
	lat_s[comma - s] = 0;
	if (!num_double(lat_s, -90, 90, &lat) || !num_double(comma + 1, -180, 180, &lon))
		return false;
	ccfg->has_loc = true;
	ccfg->lat_e6 = advert_coord_e6(lat);
	ccfg->lon_e6 = advert_coord_e6(lon);
	return true;
}

/* One option with its value; returns -1 to go on, else the exit status. */
static int parse_opt(struct roomc *a, struct opts *o, int c, const char *name, char *v)
{
	unsigned long long n;
	switch (c) {
	case 'd': o->data = v; break;
	case 'r': a->radio_spec = v; break;
	case O_JSON: a->json = true; break;
	case 'c': a->argv_cmds[a->n_argv_cmds++] = v; break;
	case O_WAIT:
		if (!num_ulong(v, 86400, &n)) {
			fprintf(stderr, "roomc: --wait takes seconds (0..86400)\n");
			return 2;
		}
		a->wait_s = (unsigned)n;
		break;
	case 'n': o->name = v; break;
	case O_LOC:
		if (!parse_location(v, &o->ccfg)) {
			fprintf(stderr, "roomc: --location LAT,LON in degrees\n");
			return 2;
		}
		break;
	case O_ADVERT: a->advert_at_start = true; break;
	case O_KA:
		if (!num_ulong(v, 86400, &n)) {
			fprintf(stderr, "roomc: --keepalive takes seconds (0 = off)\n");
			return 2;
		}
		o->ccfg.keepalive_s = (unsigned)n;
		break;
	case O_NOLOGIN: a->autologin = false; break;
	case O_NOREM: a->remember = false; break;
	case O_FREQ:
	case O_BW:
	case O_SF:
	case O_CR:
	case O_TX: /* the option's name is the config key */
		if (app_config_set(&a->cfg, name, v) != ERR_OK) {
			fprintf(stderr, "roomc: bad --%s value '%s'\n", name, v);
			return 2;
		}
		break;
	case O_TF:
		if (!num_double(v, 0.1, 100, &o->ccfg.timeout_factor)) {
			fprintf(stderr, "roomc: --timeout-factor takes 0.1..100\n");
			return 2;
		}
		break;
	case 'v': o->verbose++; break;
	case 'q': o->verbose = -1; break;
	case 'h': usage(stdout); return 0;
	case O_VERSION:
		printf("roomc %s (MeshCore %s compatible)\n", ROOMD_VERSION, ROOMD_MESHCORE_COMPAT);
		return 0;
	default: /* getopt said what was wrong, on one line */
		fprintf(stderr, "Try 'roomc --help'.\n");
		return 2;
	}
	return -1;
}

/* The command line; returns -1 to go on, else the exit status. */
static int parse_opts(struct roomc *a, struct opts *o, int argc, char **argv)
{
	int c, oi = -1, rc;
	while ((c = getopt_long(argc, argv, "d:r:c:n:vqh", long_opts, &oi)) != -1)
		if ((rc = parse_opt(a, o, c, oi >= 0 ? long_opts[oi].name : "", optarg)) >= 0)
			return rc;
	if (optind < argc) {
		fprintf(stderr, "roomc: unexpected argument '%s' (see roomc --help)\n",
		        argv[optind]);
		return 2;
	}
	if (!o->data || !a->radio_spec) {
		fprintf(stderr,
		        "roomc: --data DIR and --radio SPEC are required (see roomc --help)\n");
		return 2;
	}
	if (a->n_argv_cmds && !a->json) {
		fprintf(stderr, "roomc: -c needs --json\n");
		return 2;
	}
	return -1;
}

/* The data directory, and the log: to a file in interactive mode on a terminal. */
static int open_store(struct roomc *a, const struct opts *o)
{
	log_set_prefix("roomc");
	log_set_level(o->verbose < 0    ? LOG_ERR
	              : o->verbose == 0 ? LOG_WARN
	              : o->verbose == 1 ? LOG_INFO
	                                : LOG_TRACE);
	if (crypto_init() != ERR_OK) {
		fprintf(stderr, "roomc: libsodium failed to initialise\n");
		return 1;
	}
	app_private_files(); /* the remembered room passwords and the key */
	int rc = cstore_open(&a->store, o->data);
	if (rc == ERR_AGAIN) {
		fprintf(stderr, "roomc: another roomc is using %s\n", o->data);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "roomc: cannot use the data directory %s: %s\n", o->data,
		        err_str(rc));
		return 1;
	}
	/* interactive on a terminal: the log goes to a file so it cannot break the screen */
	if (!a->json && o->verbose <= 0 && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
		char path[4096];
		snprintf(path, sizeof(path), "%.3800s/roomc.log", a->store.dir);
		if (!freopen(path, "a", stderr))
			log_warn("roomc", "cannot open %s", path);
		log_set_level(o->verbose < 0 ? LOG_ERR : LOG_INFO);
	}
	return 0;
}

/* Our identity and name, the mesh and the client, with the contacts and histories kept. */
static int open_client(struct prog *p, struct opts *o)
{
	struct roomc *a = &p->a;
	struct ident id;
	int rc = cstore_identity(&a->store, &id, crypto_rng_system(), &o->created);
	if (rc) {
		fprintf(stderr, "roomc: no usable identity in %s: %s\n", o->data, err_str(rc));
		return 1;
	}
	cstore_state_load(&a->store, &a->state);
	if (o->name)
		snprintf(a->state.name, sizeof(a->state.name), "%.*s", CLIENT_NAME_MAX - 1,
		         o->name);
	if (!a->state.name[0]) {
		char h[9];
		roomc_hex8(h, id.pub);
		snprintf(a->state.name, sizeof(a->state.name), "roomc-%.4s", h);
	}
	snprintf(o->ccfg.name, sizeof(o->ccfg.name), "%.*s", CLIENT_NAME_MAX - 1, a->state.name);

	a->cfg.mesh.lp = a->cfg.radio_cfg.lp;
	struct node_io io = {.send = radio_transmit,
	                     .now = now_ms,
	                     .packet = on_packet,
	                     .link = radio_link,
	                     .ctx = p};
	node_open(&p->link, &p->mesh, &a->cfg.mesh, &io, crypto_rng_system());
	a->c = calloc(1, sizeof(*a->c));
	if (!a->c)
		return 1;
	rc = client_init(a->c, &p->mesh, &id, &o->ccfg, roomc_on_event, a, app_now_ms());
	ident_wipe(&id);
	if (rc) {
		fprintf(stderr, "roomc: %s\n", err_str(rc));
		return 1;
	}
	client_set_rtc(a->c, app_now_ms(), (uint32_t)(app_wall_ms() / 1000));
	client_set_stamp_floor(a->c, a->state.stamp);
	cstore_contacts_load(&a->store, a->c, &o->n_contacts);
	roomc_load_histories(a);
	if (a->store.bad_lines)
		log_warn("roomc", "%u unreadable lines skipped in %s", a->store.bad_lines, o->data);
	roomc_mark_dirty(a); /* the name or a new identity */
	return 0;
}

/* The first words: "ready", or a greeting. */
static void greet(struct roomc *a, const struct opts *o)
{
	char key[2 * CRYPTO_PUB_SIZE + 1];
	hex_encode(key, sizeof(key), a->c->ep.id.pub, CRYPTO_PUB_SIZE);
	if (a->json) {
		char buf[512];
		struct jsonl_w w;
		roomc_json_begin(a, &w, buf, sizeof(buf), RCE_READY);
		jsonl_w_cstr(&w, "key", key);
		jsonl_w_cstr(&w, "name", a->state.name);
		jsonl_w_int(&w, "contacts", o->n_contacts);
		roomc_json_emit(a, &w);
		return;
	}
	roomc_say(a, "roomc %s — MeshCore room client. You are \"%s\" (key %.8s…)%s.",
	          ROOMD_VERSION, a->state.name, key, o->created ? ", a new identity" : "");
	roomc_say(a, "Data in %s, %d contact%s. Connecting to the radio %s…", o->data,
	          o->n_contacts, o->n_contacts == 1 ? "" : "s", a->radio_spec);
	roomc_say(a, "Type /help for commands; /rooms lists rooms, /room NAME picks one.");
	roomc_update_prompt(a);
}

int main(int argc, char **argv)
{
	static struct prog prog;
	struct prog *p = &prog;
	struct roomc *a = &p->a;
	struct opts o = {0};
	int rc;

	setlocale(LC_CTYPE, "");
	a->out = stdout;
	a->remember = a->autologin = true;
	a->wait_s = 60;
	app_config_defaults(&a->cfg);
	/* the modem transmits as soon as the channel is free (persistence 255,
	 * RADIO_CFG_DEFAULT), so a push is ACKed after the stock client's
	 * 200 ms; the client library jitters its retries, so members that
	 * started together do not collide in lockstep */
	client_cfg_defaults(&o.ccfg);
	a->argv_cmds = calloc((size_t)argc, sizeof(char *));
	if (!a->argv_cmds)
		return 1;
	if ((rc = parse_opts(a, &o, argc, argv)) >= 0)
		return rc;
	if ((rc = open_store(a, &o)) || (rc = open_client(p, &o)))
		return rc;
	struct radio_events ev = {node_rx, node_tx_done, node_link_changed, &p->link};
	rc = radio_open(&p->radio, a->radio_spec, &a->cfg.radio_cfg, &ev, app_now_ms());
	if (rc) {
		fprintf(stderr, "roomc: radio %s: %s\n", a->radio_spec, err_str(rc));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (loop_start(p))
		return 1;

	a->stdin_open = !a->n_argv_cmds;
	lined_open(&a->ed, STDIN_FILENO, STDOUT_FILENO, on_line, a);
	feed_argv(a);
	greet(a, &o);
	service(p);
	rc = !p->done && loop_run(p->loop) != ERR_OK ? 1 : 0;

	if (!a->json && !loop_signal(p->loop) && client_busy(a->c))
		roomc_say(a, "* leaving with operations still pending");
	roomc_save_now(a);
	lined_close(&a->ed);
	loop_end(p);
	radio_close(p->radio);
	client_cleanup(a->c);
	free(a->c);
	cstore_close(&a->store);
	for (int i = 0; i < a->n_pending; i++)
		free(a->pending[i]);
	free(a->pending);
	free(a->argv_cmds);
	if (rc)
		return rc;
	return a->json && a->failures ? 1 : 0;
}
