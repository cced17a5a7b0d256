/*
 * lined.h - a small line editor for roomc's interactive mode, so that
 * messages arriving while a person types do not mangle the line.
 *
 * On a terminal it switches the input to raw mode (restored by
 * lined_close) and keeps the prompt and the line being edited on the last
 * screen row: lined_print() clears that row, prints a message above it and
 * redraws it.  Keys: printable text (UTF-8), Enter, Backspace, Delete,
 * Left/Right, Home/End, Up/Down (history), ^A ^E ^B ^F ^K ^U ^W ^L,
 * ^D (delete, or end of input on an empty line), ^C (clear the line, or end
 * of input on an empty line).  Long lines scroll horizontally.
 *
 * Not a terminal (a pipe or a file): bytes are split into lines, nothing is
 * echoed, messages are printed as they come.
 *
 * A line holds LINED_MAX - 1 bytes.  What does not fit is dropped and
 * counted: on_line sees the count in l->cut (0 for a line that fit), so
 * the caller can refuse the line and say so rather than act on part of it.  Input is fed by the
 * caller's poll() loop (lined_feed); nothing here blocks.
 */
#ifndef ROOMD_CLIENT_LINED_H
#define ROOMD_CLIENT_LINED_H

#include <stdbool.h>
#include <stddef.h>

#include <termios.h>

#define LINED_MAX        1024
#define LINED_HISTORY    100
#define LINED_PROMPT_MAX 256

struct lined {
	int in, out;
	bool tty;
	bool raw; /* termios changed, to restore */
	struct termios saved;
	char prompt[LINED_PROMPT_MAX];
	char buf[LINED_MAX];
	size_t len, pos; /* bytes; pos is at a code point boundary */
	size_t scroll;   /* first byte shown when the line is wider than the screen */
	int esc;         /* escape-sequence state */
	char esc_buf[16];
	size_t esc_len;
	bool last_cr; /* swallow the \n of a \r\n pair */
	char *hist[LINED_HISTORY];
	int hist_n, hist_pos; /* hist_pos == hist_n: editing a new line */
	char *saved_line;     /* the new line, while browsing history */
	bool eof;
	size_t over; /* bytes of the line being read that did not fit */
	size_t cut;  /* in on_line: bytes of this line that did not fit (dropped) */
	void (*on_line)(void *ctx, char *line); /* line NULL: end of input */
	void *ctx;
};

/* Sets up the editor on fds in/out; raw mode if in is a terminal. */
int lined_open(struct lined *l, int in, int out, void (*on_line)(void *ctx, char *line), void *ctx);
/* Restores the terminal and frees the history. */
void lined_close(struct lined *l);
/* Changes the prompt (redrawn at once when shown). */
void lined_set_prompt(struct lined *l, const char *prompt);
/* Reads what is available on the input fd and handles it; ERR_CLOSED at end of input. */
int lined_read(struct lined *l);
/* Handles n bytes of input (for tests, or a caller that reads itself). */
void lined_feed(struct lined *l, const char *p, size_t n);
/* Prints one message line (no newline needed) above the input line. */
void lined_print(struct lined *l, const char *text);
/* Redraws the prompt and the line. */
void lined_redraw(struct lined *l);

#endif
