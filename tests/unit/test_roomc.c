/*
 * test_roomc.c - roomc's parts (src/client/roomc*.c) without a radio: the
 * event table (every client event has its row, --help lists every event),
 * the state an event changes apart from its output (roomc_apply writes
 * nothing), the same event through the JSON and the text formatter, and the
 * command table with its aliases and number arguments (roomc_run_line).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/roomc.h"
#include "crypto/crypto.h"
#include "harness.h"
#include "mesh/mesh.h"
#include "sys/sys.h"
#include "util/err.h"

static struct roomc app;
static FILE *json_out, *text_out;
static char dir[64];
static struct client_contact *lobby, *hall;

static int no_transmit(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	(void)frame;
	(void)len;
	return ERR_OK;
}

/* Everything written to f (by stdio or to its fd) since the last call. */
static const char *taken(FILE *f)
{
	static char buf[65536];
	static off_t pos[2];
	off_t *p = &pos[f == text_out];
	struct stat st;
	fflush(f);
	fstat(fileno(f), &st);
	size_t n = (size_t)(st.st_size - *p);
	if (n > sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	ssize_t got = pread(fileno(f), buf, n, *p);
	buf[got > 0 ? got : 0] = 0;
	*p = st.st_size;
	return buf;
}

static struct client_contact *add_room(const char *name, uint8_t seed_byte)
{
	uint8_t seed[32];
	struct ident id;
	struct client_contact *ct = NULL;
	memset(seed, seed_byte, sizeof(seed));
	ident_from_seed(&id, seed);
	CHECK_EQ(client_contact_add(app.c, id.pub, &ct), ERR_OK);
	snprintf(ct->name, sizeof(ct->name), "%s", name);
	ct->type = ADV_TYPE_ROOM;
	ident_wipe(&id);
	return ct;
}

static void setup(void)
{
	static struct mesh mesh;
	struct ident id;
	struct client_cfg ccfg;
	bool created;
	struct mesh_io io = {.transmit = no_transmit, .ctx = NULL};

	snprintf(dir, sizeof(dir), "/tmp/test_roomc.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	CHECK_EQ(cstore_open(&app.store, dir), ERR_OK);
	CHECK_EQ(cstore_identity(&app.store, &id, crypto_rng_system(), &created), ERR_OK);
	app_config_defaults(&app.cfg);
	mesh_init(&mesh, &app.cfg.mesh, &io, crypto_rng_system(), app_now_ms());
	client_cfg_defaults(&ccfg);
	app.c = calloc(1, sizeof(*app.c));
	CHECK_EQ(client_init(app.c, &mesh, &id, &ccfg, roomc_on_event, &app, app_now_ms()), ERR_OK);
	ident_wipe(&id);
	client_set_rtc(app.c, app_now_ms(), (uint32_t)(app_wall_ms() / 1000));
	json_out = tmpfile();
	text_out = tmpfile();
	app.out = json_out;
	app.remember = app.autologin = true;
	app.link_up = app.ever_up = true;
	/* not a terminal: lined prints each message as one line */
	lined_open(&app.ed, -1, fileno(text_out), NULL, &app);
	lobby = add_room("Lobby", 7);
	hall = add_room("Hall", 9);
}

static void fire(enum client_event_type type, const struct client_contact *ct, const char *text)
{
	struct client_event ev = {.type = type, .contact = ct, .id = 5, .ts = 1700000000};
	memcpy(ev.author, "\x01\x02\x03\x04", 4);
	ev.text = text;
	ev.text_len = text ? strlen(text) : 0;
	roomc_on_event(&app, app.c, &ev);
}

/* Every event of the client has one row (SYNC none: it shows nothing); names are unique. */
static void test_table(void)
{
	for (int t = CLIENT_EV_CONTACT; t <= CLIENT_EV_KEEPALIVE_LOST; t++) {
		int rows = 0;
		for (int i = 0; i < RCE_COUNT; i++)
			if (roomc_events[i].client_ev == t + 1) {
				rows++;
				CHECK(roomc_events[i].json != NULL);
			}
		CHECK_EQ(rows, t == CLIENT_EV_SYNC ? 0 : 1);
	}
	for (int i = 0; i < RCE_COUNT; i++) {
		CHECK(roomc_events[i].name && roomc_events[i].fields && roomc_events[i].fields[0]);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(roomc_events[i].name, roomc_events[j].name) != 0);
	}

	/* --help lists each, one per line, with its fields */
	FILE *f = tmpfile();
	char line[512];
	int seen[RCE_COUNT] = {0};
	roomc_print_events(f);
	rewind(f);
	while (fgets(line, sizeof(line), f))
		for (int i = 0; i < RCE_COUNT; i++) {
			char head[64];
			snprintf(head, sizeof(head), "    %-14s {", roomc_events[i].name);
			if (strncmp(line, head, strlen(head)) == 0)
				seen[i]++;
		}
	fclose(f);
	for (int i = 0; i < RCE_COUNT; i++)
		CHECK_EQ(seen[i], 1);
}

/* roomc_apply changes the state and writes nothing; the formatter writes only. */
static void test_state_apart(void)
{
	struct roomc_view *v = roomc_view_find(&app, lobby->pub, true);
	app.json = true;
	taken(json_out);
	v->login_pending = true;
	snprintf(v->login_pw, sizeof(v->login_pw), "secret");
	int failures = app.failures;
	struct client_event ev = {.type = CLIENT_EV_LOGIN_TIMEOUT, .contact = lobby};
	roomc_apply(&app, &ev);
	CHECK(!v->login_pending);
	CHECK_EQ(v->login_pw[0], 0);
	CHECK_EQ(app.failures, failures + 1);
	CHECK_STR(taken(json_out), "");

	/* through roomc_on_event: the same state, and one event line */
	v->login_pending = true;
	fire(CLIENT_EV_LOGIN_TIMEOUT, lobby, NULL);
	CHECK(!v->login_pending);
	CHECK_EQ(app.failures, failures + 2);
	const char *out = taken(json_out);
	CHECK(strstr(out, "{\"event\":\"login_timeout\",\"time\":") == out);
	CHECK(strstr(out, "\"room\":\"Lobby\",\"key\":\"") != NULL);
	CHECK_EQ(strchr(out, '\n') - out + 1, (long)strlen(out));
}

/* A pushed post: kept (view, history) whatever the mode; shown as JSON or as text. */
static void test_post(void)
{
	struct roomc_view *v = roomc_view_find(&app, hall->pub, true);
	int n = 0;

	app.json = true;
	fire(CLIENT_EV_POST, hall, "hello json");
	CHECK_EQ(v->n, 1);
	CHECK_EQ(v->unread, 0); /* the JSON reader got it */
	const char *out = taken(json_out);
	CHECK(strstr(out, "\"event\":\"post\"") != NULL);
	CHECK(strstr(out, "\"ts\":1700000000,\"author\":\"01020304\",\"author_key\":\"01020304\","
	                  "\"text\":\"hello json\"}") != NULL);

	/* text mode, another room current: counted unread, shown in the prompt only */
	app.json = false;
	memcpy(app.current, lobby->pub, CRYPTO_PUB_SIZE);
	app.has_current = true;
	taken(text_out);
	fire(CLIENT_EV_POST, hall, "hello text");
	CHECK_EQ(v->n, 2);
	CHECK_EQ(v->unread, 1);
	CHECK_STR(taken(text_out), "");
	CHECK(strstr(app.ed.prompt, "[Lobby (not logged in)] 1 unread> ") == app.ed.prompt);

	/* the current room: shown at once, not unread */
	memcpy(app.current, hall->pub, CRYPTO_PUB_SIZE);
	fire(CLIENT_EV_POST, hall, "hello there");
	CHECK_EQ(v->unread, 1);
	out = taken(text_out);
	CHECK(strstr(out, " 01020304: hello there\n") != NULL);
	CHECK(strstr(out, "hello text") == NULL);
	CHECK_STR(taken(json_out), "");

	/* all three are in the history on disk */
	roomc_save_now(&app);
	memset(v, 0, sizeof(*v));
	roomc_load_histories(&app);
	v = roomc_view_find(&app, hall->pub, false);
	CHECK(v != NULL);
	if (v)
		n = (int)v->n;
	CHECK_EQ(n, 3);
	app.has_current = false;
}

/* A command line in --json mode; returns the output. */
static const char *run_json(const char *line)
{
	char buf[ROOMC_LINE_MAX];
	app.json = true;
	snprintf(buf, sizeof(buf), "%s", line);
	roomc_run_line(&app, buf);
	return taken(json_out);
}

static const char *run_text(const char *line)
{
	char buf[ROOMC_LINE_MAX];
	app.json = false;
	snprintf(buf, sizeof(buf), "%s", line);
	roomc_run_line(&app, buf);
	return taken(text_out);
}

/* Commands and aliases are table rows: which names work in which mode. */
static void test_commands(void)
{
	taken(json_out);
	taken(text_out);
	app.quit = false;
	CHECK_STR(run_json("exit"), "");
	CHECK(app.quit);
	app.quit = false;
	CHECK(strstr(run_json("q"), "\"message\":\"unknown command 'q' (try help)\"") != NULL);
	CHECK(!app.quit);
	CHECK_STR(run_text("/q"), "");
	CHECK(app.quit);
	app.quit = false;
	CHECK(strstr(run_json("room Lobby"), "unknown command 'room'") != NULL);
	CHECK(strstr(run_json("join Lobby"), "unknown command 'join'") != NULL);
	CHECK(strstr(run_text("/j Lobby"), "— Lobby —") != NULL);
	CHECK(app.has_current && memcmp(app.current, lobby->pub, CRYPTO_PUB_SIZE) == 0);
	CHECK(strstr(run_text("/reset"), "route to Lobby forgotten") != NULL);
	CHECK(strstr(run_json("reset Lobby"), "unknown command 'reset'") != NULL);
	CHECK(strstr(run_json("reset_path Lobby"), "\"event\":\"ok\"") != NULL);
	CHECK(strstr(run_text("/wait"), "unknown command 'wait'") != NULL);

	/* numbers: history N >= 1, sleep 0..86400 s */
	CHECK(strstr(run_json("history Hall 0"), "history [N]: N is a number of posts") != NULL);
	CHECK(strstr(run_json("history Hall -2"), "history [N]") != NULL);
	CHECK(strstr(run_json("history Hall 2x"), "history [N]") != NULL);
	CHECK(strstr(run_json("history Hall 2 "), "\"event\":\"history\"") != NULL);
	CHECK(strstr(run_json("history Hall 99999999999"), "\"count\":3") != NULL);
	CHECK(strstr(run_json("sleep -1"), "\"message\":\"sleep SECONDS\"") != NULL);
	CHECK(strstr(run_json("sleep nan"), "sleep SECONDS") != NULL);
	CHECK(strstr(run_json("sleep 86401"), "sleep SECONDS") != NULL);
	CHECK_EQ(app.wait, ROOMC_WAIT_NONE);
	CHECK_STR(run_json("sleep 1.5 "), "");
	CHECK_EQ(app.wait, ROOMC_WAIT_SLEEP);
	app.wait = ROOMC_WAIT_NONE;

	/* rm and delete: remove, in both modes */
	CHECK(strstr(run_json("rm Lobby"), "\"event\":\"ok\",\"time\":") != NULL);
	CHECK(client_contact_find(app.c, lobby->pub) == NULL);
	CHECK(!app.has_current);
	CHECK(strstr(run_text("/delete Hall"), "* Hall removed") != NULL);
}

int main(void)
{
	CHECK_EQ(crypto_init(), ERR_OK);
	setup();
	test_table();
	test_state_apart();
	test_post();
	test_commands();
	lined_close(&app.ed);
	client_cleanup(app.c);
	free(app.c);
	cstore_close(&app.store);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ(system(cmd), 0);
	return harness_done("test_roomc");
}
