/*
 * lined.c - the line editor of roomc's interactive mode (see lined.h).
 *
 * Display model: one screen row holds the prompt and a window onto the line;
 * every change redraws that row ("\r", text, erase to end of line, cursor
 * placed with an absolute column move).  Widths come from wcwidth() in the
 * user's locale; a character it cannot measure counts as one column.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "client/lined.h"
#include "util/err.h"

static void out(struct lined *l, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(l->out, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* a closed terminal: nothing sensible to do */
		}
		s += w;
		n -= (size_t)w;
	}
}

static void outs(struct lined *l, const char *s)
{
	out(l, s, strlen(s));
}

static int columns(const struct lined *l)
{
	struct winsize ws;
	if (ioctl(l->out, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		return ws.ws_col;
	return 80;
}

/* Length of the UTF-8 sequence starting with byte c (1 for a stray byte). */
static size_t seq_len(unsigned char c)
{
	return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Display width of s[0..n). */
static int width(const char *s, size_t n)
{
	int w = 0;
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < n;) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, s + i, n - i, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof(st));
			k = seq_len((unsigned char)s[i]);
			if (k > n - i)
				k = n - i;
			w += 1;
		} else {
			int cw = wcwidth(wc);
			w += cw < 0 ? 1 : cw;
		}
		i += k;
	}
	return w;
}

static size_t prev_char(const struct lined *l, size_t pos)
{
	if (pos == 0)
		return 0;
	pos--;
	while (pos > 0 && ((unsigned char)l->buf[pos] & 0xC0) == 0x80)
		pos--;
	return pos;
}

static size_t next_char(const struct lined *l, size_t pos)
{
	if (pos >= l->len)
		return l->len;
	pos++;
	while (pos < l->len && ((unsigned char)l->buf[pos] & 0xC0) == 0x80)
		pos++;
	return pos;
}

void lined_redraw(struct lined *l)
{
	char seq[32];
	if (!l->tty || l->eof)
		return;
	int cols = columns(l) - 1;
	int pw = width(l->prompt, strlen(l->prompt));
	int room = cols - pw;
	if (room < 8) /* a prompt too wide for the screen: show the line alone */
		room = cols, pw = 0;
	/* keep the cursor inside the window */
	if (l->scroll > l->pos)
		l->scroll = l->pos;
	while (width(l->buf + l->scroll, l->pos - l->scroll) > room - 1)
		l->scroll = next_char(l, l->scroll);
	size_t end = l->scroll;
	while (end < l->len && width(l->buf + l->scroll, next_char(l, end) - l->scroll) <= room)
		end = next_char(l, end);
	outs(l, "\r");
	if (pw)
		outs(l, l->prompt);
	out(l, l->buf + l->scroll, end - l->scroll);
	outs(l, "\x1b[K");
	int col = pw + width(l->buf + l->scroll, l->pos - l->scroll);
	snprintf(seq, sizeof(seq), "\r\x1b[%dC", col);
	if (col > 0)
		outs(l, seq);
	else
		outs(l, "\r");
}

void lined_print(struct lined *l, const char *text)
{
	if (l->tty && !l->eof)
		outs(l, "\r\x1b[K");
	outs(l, text);
	outs(l, "\n");
	lined_redraw(l);
}

void lined_set_prompt(struct lined *l, const char *prompt)
{
	if (strcmp(l->prompt, prompt) == 0)
		return;
	snprintf(l->prompt, sizeof(l->prompt), "%s", prompt);
	lined_redraw(l);
}

int lined_open(struct lined *l, int in, int outfd, void (*on_line)(void *ctx, char *line),
               void *ctx)
{
	memset(l, 0, sizeof(*l));
	l->in = in;
	l->out = outfd;
	l->on_line = on_line;
	l->ctx = ctx;
	l->tty = isatty(in) && isatty(outfd);
	if (!l->tty)
		return ERR_OK;
	if (tcgetattr(in, &l->saved) != 0) {
		l->tty = false;
		return ERR_OK;
	}
	struct termios t = l->saved;
	t.c_iflag &= ~(tcflag_t)(ICRNL | INLCR | IGNCR | IXON | ISTRIP);
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | IEXTEN | ISIG);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(in, TCSAFLUSH, &t) != 0) {
		l->tty = false;
		return ERR_OK;
	}
	l->raw = true;
	return ERR_OK;
}

void lined_close(struct lined *l)
{
	if (l->raw) {
		outs(l, "\r\x1b[K");
		tcsetattr(l->in, TCSAFLUSH, &l->saved);
		l->raw = false;
	}
	for (int i = 0; i < l->hist_n; i++)
		free(l->hist[i]);
	l->hist_n = 0;
	free(l->saved_line);
	l->saved_line = NULL;
}

static void set_line(struct lined *l, const char *s)
{
	size_t n = strlen(s);
	if (n >= LINED_MAX)
		n = LINED_MAX - 1;
	memcpy(l->buf, s, n);
	l->len = l->pos = n;
	l->scroll = 0;
	l->over = 0;
}

static void hist_add(struct lined *l, const char *s)
{
	if (!*s || (l->hist_n && strcmp(l->hist[l->hist_n - 1], s) == 0))
		return;
	char *copy = strdup(s);
	if (!copy)
		return;
	if (l->hist_n == LINED_HISTORY) {
		free(l->hist[0]);
		memmove(l->hist, l->hist + 1, sizeof(l->hist[0]) * (LINED_HISTORY - 1));
		l->hist_n--;
	}
	l->hist[l->hist_n++] = copy;
}

static void hist_move(struct lined *l, int dir)
{
	int to = l->hist_pos + dir;
	if (to < 0 || to > l->hist_n)
		return;
	if (l->hist_pos == l->hist_n) {
		free(l->saved_line);
		l->buf[l->len] = 0;
		l->saved_line = strdup(l->buf);
	}
	l->hist_pos = to;
	set_line(l, to == l->hist_n ? (l->saved_line ? l->saved_line : "") : l->hist[to]);
}

static void finish_line(struct lined *l)
{
	char line[LINED_MAX];
	memcpy(line, l->buf, l->len);
	line[l->len] = 0;
	l->cut = l->over;
	l->over = 0;
	if (l->tty) {
		/* the caller echoes what it did with the line */
		outs(l, "\r\x1b[K");
		hist_add(l, line);
	}
	l->len = l->pos = l->scroll = 0;
	l->hist_pos = l->hist_n;
	free(l->saved_line);
	l->saved_line = NULL;
	l->on_line(l->ctx, line);
	l->cut = 0;
	lined_redraw(l);
}

static void end_of_input(struct lined *l)
{
	if (l->eof)
		return;
	if (l->tty)
		outs(l, "\r\x1b[K");
	l->eof = true;
	l->on_line(l->ctx, NULL);
}

static void delete_range(struct lined *l, size_t from, size_t to)
{
	memmove(l->buf + from, l->buf + to, l->len - to);
	l->len -= to - from;
	if (l->pos > to)
		l->pos -= to - from;
	else if (l->pos > from)
		l->pos = from;
}

static void insert(struct lined *l, char c)
{
	if (l->len >= LINED_MAX - 1) {
		l->over++;
		return;
	}
	memmove(l->buf + l->pos + 1, l->buf + l->pos, l->len - l->pos);
	l->buf[l->pos++] = c;
	l->len++;
}

static void escape_done(struct lined *l)
{
	const char *s = l->esc_buf;
	/* s is what followed ESC: "[A", "OH", "[3~" ... */
	char fin = s[l->esc_len - 1];
	if (strcmp(s, "[3~") == 0) {
		delete_range(l, l->pos, next_char(l, l->pos));
	} else if (strcmp(s, "[1~") == 0 || strcmp(s, "[7~") == 0 || fin == 'H') {
		l->pos = 0;
	} else if (strcmp(s, "[4~") == 0 || strcmp(s, "[8~") == 0 || fin == 'F') {
		l->pos = l->len;
	} else if (fin == 'A') {
		hist_move(l, -1);
	} else if (fin == 'B') {
		hist_move(l, +1);
	} else if (fin == 'C') {
		l->pos = next_char(l, l->pos);
	} else if (fin == 'D') {
		l->pos = prev_char(l, l->pos);
	}
	lined_redraw(l);
}

static void key(struct lined *l, unsigned char c)
{
	if (l->esc) {
		if (l->esc_len < sizeof(l->esc_buf) - 1)
			l->esc_buf[l->esc_len++] = (char)c;
		l->esc_buf[l->esc_len] = 0;
		/* ESC [ params final, or ESC O final, or ESC x */
		if (l->esc_len == 1 && c != '[' && c != 'O') {
			l->esc = 0;
			return;
		}
		if (l->esc_len >= 2 && c >= 0x40 && c <= 0x7E) {
			l->esc = 0;
			escape_done(l);
		} else if (l->esc_len >= sizeof(l->esc_buf) - 1) {
			l->esc = 0;
		}
		return;
	}
	switch (c) {
	case '\r':
	case '\n': finish_line(l); return;
	case 0x1B:
		l->esc = 1;
		l->esc_len = 0;
		return;
	case 0x7F:
	case 0x08: delete_range(l, prev_char(l, l->pos), l->pos); break;
	case 0x01: l->pos = 0; break;
	case 0x05: l->pos = l->len; break;
	case 0x02: l->pos = prev_char(l, l->pos); break;
	case 0x06: l->pos = next_char(l, l->pos); break;
	case 0x0B: l->len = l->pos; break;
	case 0x15: delete_range(l, 0, l->pos); break;
	case 0x17: {
		size_t p = l->pos;
		while (p > 0 && l->buf[p - 1] == ' ')
			p--;
		while (p > 0 && l->buf[p - 1] != ' ')
			p--;
		delete_range(l, p, l->pos);
		break;
	}
	case 0x0C: outs(l, "\x1b[H\x1b[2J"); break;
	case 0x10: hist_move(l, -1); break;
	case 0x0E: hist_move(l, +1); break;
	case 0x04:
		if (l->len == 0) {
			end_of_input(l);
			return;
		}
		delete_range(l, l->pos, next_char(l, l->pos));
		break;
	case 0x03:
		if (l->len == 0) {
			end_of_input(l);
			return;
		}
		l->len = l->pos = l->scroll = 0;
		l->over = 0;
		break;
	default:
		if (c < 0x20)
			return; /* other control keys: ignored */
		insert(l, (char)c);
		/* redraw once a whole character is in */
		if (c >= 0x80) {
			size_t start = prev_char(l, l->pos);
			if (l->pos - start < seq_len((unsigned char)l->buf[start]))
				return;
		}
		break;
	}
	lined_redraw(l);
}

void lined_feed(struct lined *l, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !l->eof; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!l->tty) {
			/* plain lines: \n ends one, \r before it is dropped */
			if (c == '\n') {
				if (l->len && l->buf[l->len - 1] == '\r')
					l->len--;
				char line[LINED_MAX];
				memcpy(line, l->buf, l->len);
				line[l->len] = 0;
				l->len = 0;
				l->cut = l->over;
				l->over = 0;
				l->on_line(l->ctx, line);
				l->cut = 0;
			} else if (l->len < LINED_MAX - 1) {
				l->buf[l->len++] = (char)c;
			} else {
				l->over++;
			}
			continue;
		}
		if (c == '\n' && l->last_cr) {
			l->last_cr = false;
			continue;
		}
		l->last_cr = c == '\r';
		key(l, c);
	}
}

int lined_read(struct lined *l)
{
	char buf[512];
	ssize_t n = read(l->in, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? ERR_OK : ERR_SYS;
	if (n == 0) {
		if (!l->tty && l->len) {
			/* a last line without a newline */
			lined_feed(l, "\n", 1);
		}
		end_of_input(l);
		return ERR_CLOSED;
	}
	lined_feed(l, buf, (size_t)n);
	return l->eof ? ERR_CLOSED : ERR_OK;
}
