// SPDX-License-Identifier: MIT
/*
 * A GRUB script interpreter that does nothing but measure, as the tpm
 * verifier of GRUB 2.06 does: every command line after expansion into PCR 8
 * ("grub_cmd: "), loader command lines ("kernel_cmdline: ",
 * "module_cmdline: "), and every file a command opens into PCR 9.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "err.h"
#include "fileio.h"
#include "grub_script.h"
#include "mem.h"

#define MAX_WORD     4096
#define MAX_ARGS     256
#define MAX_VARS     256
#define MAX_ENTRIES  256
#define MAX_DEPTH    32
#define MAX_LOOPS    100000
#define MAX_SCRIPTS  4096
#define MAX_EVENTS   4096
#define FILE_MAX     (512u << 20)
#define GRUB_MOD_DIR "x86_64-efi"

struct sbuf {
	char *p;
	size_t len, cap;
};

static int sbuf_putc(struct sbuf *b, char c)
{
	if (b->len + 2 > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		char *n = realloc(b->p, ncap);

		if (!n)
			return err_set(-ENOMEM, "out of memory");
		b->p = n;
		b->cap = ncap;
	}
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
	return 0;
}

static int sbuf_puts(struct sbuf *b, const char *s)
{
	int rc = b->p ? 0 : sbuf_putc(b, '\0'); /* always leave a string behind */

	if (rc == 0 && b->len == 1 && b->p[0] == '\0')
		b->len = 0;
	while (*s && rc == 0)
		rc = sbuf_putc(b, *s++);
	return rc;
}

/* ---- variables ---- */

const char *grub_sim_get(const struct grub_sim *sim, const char *name)
{
	for (size_t i = 0; i < sim->n_vars; i++)
		if (strcmp(sim->var[i].name, name) == 0)
			return sim->var[i].value;
	return NULL;
}

int grub_sim_set(struct grub_sim *sim, const char *name, const char *value)
{
	size_t cap = sim->n_vars;
	char *v = strdup(value);

	if (!v)
		return err_set(-ENOMEM, "out of memory");
	for (size_t i = 0; i < sim->n_vars; i++) {
		if (strcmp(sim->var[i].name, name) == 0) {
			free(sim->var[i].value);
			sim->var[i].value = v;
			return 0;
		}
	}
	if (sim->n_vars == MAX_VARS) {
		free(v);
		return err_set(-E2BIG, "more than %d variables", MAX_VARS);
	}
	if (array_grow((void **)&sim->var, &cap, sim->n_vars, sizeof(*sim->var), 1) < 0) {
		free(v);
		return -ENOMEM;
	}
	sim->var[sim->n_vars].name = strdup(name);
	sim->var[sim->n_vars].value = v;
	if (!sim->var[sim->n_vars].name) {
		free(v);
		return err_set(-ENOMEM, "out of memory");
	}
	sim->n_vars++;
	return 0;
}

static void grub_sim_unset(struct grub_sim *sim, const char *name)
{
	for (size_t i = 0; i < sim->n_vars; i++) {
		if (strcmp(sim->var[i].name, name) != 0)
			continue;
		free(sim->var[i].name);
		free(sim->var[i].value);
		sim->var[i] = sim->var[--sim->n_vars];
		return;
	}
}

/* ---- interpreter state ---- */

struct scope {
	int argc;
	char **argv;	/* owned */
	bool setparams; /* made by setparams, in place of its caller's */
};

struct menu_entry {
	char *title, *id, *src; /* src: "setparams 'TITLE'\n" + the block's body */
	int argc;
	char **args;
	bool submenu;
	unsigned line; /* of the block in its file */
	char *what;    /* the file it came from */
};

struct menu {
	size_t n;
	struct menu_entry *e;
};

struct func {
	char *name;
	struct node *body;
};

struct ctx_saved {
	size_t n_vars;
	struct grub_var *var;
};

struct grub_state {
	struct chunk *arena; /* every node, word and string of every parsed script */
	size_t n_scripts;
	size_t n_funcs;
	struct func *funcs;
	struct menu *menus[MAX_DEPTH]; /* [0] the top menu; a submenu or configfile pushes one */
	unsigned n_menus;
	struct ctx_saved ctx[MAX_DEPTH]; /* variable contexts below the current one */
	unsigned n_ctx;
	struct scope *scope; /* positional parameters; NULL at a config's top level */
	unsigned depth;	     /* nesting of calls, sources and entries */
	unsigned long active_loops, active_breaks;
	bool is_continue, function_return;
	bool kernel_loaded, booted;
	uint8_t *env; /* grubenv as save_env left it (NULL: as on disk) */
	size_t env_len;
	char *env_name; /* the GRUB name it was read under */
};

static void menu_free(struct menu *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		struct menu_entry *e = &m->e[i];

		free(e->title);
		free(e->id);
		free(e->src);
		free(e->what);
		for (int k = 0; k < e->argc; k++)
			free(e->args[k]);
		free(e->args);
	}
	free(m->e);
	free(m);
}

static void vars_free(struct grub_var *var, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(var[i].name);
		free(var[i].value);
	}
	free(var);
}

struct chunk {
	struct chunk *next;
	max_align_t data[];
};

static void *ar_alloc(struct grub_state *st, size_t n)
{
	struct chunk *c = calloc(1, sizeof(*c) + n + 1);

	if (!c) {
		err_set(-ENOMEM, "out of memory");
		return NULL;
	}
	c->next = st->arena;
	st->arena = c;
	return c->data;
}

/* array_grow for arrays in the arena (the old copy stays there until the end) */
static int ar_grow(struct grub_state *st, void **array, size_t *cap, size_t n, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p;

	if (n < *cap)
		return 0;
	if (ncap > MAX_ARGS * 64)
		return err_set(-E2BIG, "too many elements");
	p = ar_alloc(st, ncap * elem);
	if (!p)
		return -ENOMEM;
	if (n)
		memcpy(p, *array, n * elem);
	*array = p;
	*cap = ncap;
	return 0;
}

static char *ar_strndup(struct grub_state *st, const char *s, size_t n)
{
	char *p = ar_alloc(st, n + 1);

	if (p)
		memcpy(p, s, n);
	return p;
}

static const char *const features[] = {
	"feature_chainloader_bpb",	"feature_ntldr",
	"feature_platform_search_hint", "feature_default_font_path",
	"feature_all_video_module",	"feature_menuentry_id",
	"feature_menuentry_options",	"feature_200_final",
	"feature_nativedisk_cmd",	"feature_timeout_style",
};

static int set_exported(struct grub_sim *sim, const char *name, const char *value)
{
	int rc = grub_sim_set(sim, name, value);

	for (size_t i = 0; rc == 0 && i < sim->n_vars; i++)
		if (strcmp(sim->var[i].name, name) == 0)
			sim->var[i].exported = 1;
	return rc;
}

int grub_sim_init(struct grub_sim *sim)
{
	int rc = 0;

	sim->n_vars = sim->n_events = 0;
	sim->var = NULL;
	sim->event = NULL;
	sim->loaded = NULL;
	sim->loaded_len = sim->loaded_cap = 0;
	sim->st = calloc(1, sizeof(*sim->st));
	if (!sim->st)
		return err_set(-ENOMEM, "out of memory");
	sim->st->menus[0] = calloc(1, sizeof(struct menu));
	sim->st->n_menus = 1;
	if (!sim->st->menus[0])
		return err_set(-ENOMEM, "out of memory");
	if (!sim->search_result)
		sim->search_result = "hd0";
	if (!sim->preloaded)
		sim->preloaded = "";
	/* kern/main.c exports root and prefix; normal.mod sets and exports the rest */
	if (rc == 0)
		rc = set_exported(sim, "root", "memdisk");
	if (rc == 0)
		rc = set_exported(sim, "prefix", "(memdisk)/boot/grub");
	if (rc == 0)
		rc = set_exported(sim, "grub_platform", "efi");
	if (rc == 0)
		rc = set_exported(sim, "grub_cpu", "x86_64");
	for (size_t i = 0; rc == 0 && i < sizeof(features) / sizeof(features[0]); i++)
		rc = set_exported(sim, features[i], "y");
	return rc;
}

void grub_sim_free(struct grub_sim *sim)
{
	struct grub_state *st = sim->st;

	if (st) {
		while (st->n_ctx > 0) {
			vars_free(sim->var, sim->n_vars);
			st->n_ctx--;
			sim->var = st->ctx[st->n_ctx].var;
			sim->n_vars = st->ctx[st->n_ctx].n_vars;
		}
		for (unsigned i = 0; i < st->n_menus; i++)
			menu_free(st->menus[i]);
		while (st->arena) {
			struct chunk *next = st->arena->next;

			free(st->arena);
			st->arena = next;
		}
		for (size_t i = 0; i < st->n_funcs; i++)
			free(st->funcs[i].name);
		free(st->funcs);
		free(st->env);
		free(st->env_name);
		free(st);
		sim->st = NULL;
	}
	vars_free(sim->var, sim->n_vars);
	for (size_t i = 0; i < sim->n_events; i++)
		free(sim->event[i].description);
	free(sim->event);
	free(sim->loaded);
	sim->loaded = NULL;
	sim->var = NULL;
	sim->event = NULL;
	sim->n_vars = sim->n_events = 0;
}

/* ---- measuring ---- */

static int add_event(struct grub_sim *sim, unsigned pcr, const char *description,
		     struct grub_event **ret)
{
	size_t cap = sim->n_events;
	struct grub_event *ev;

	if (sim->n_events == MAX_EVENTS)
		return err_set(-E2BIG, "more than %d measurements", MAX_EVENTS);
	if (array_grow((void **)&sim->event, &cap, sim->n_events, sizeof(*ev), 1) < 0)
		return -ENOMEM;
	ev = &sim->event[sim->n_events];
	memset(ev, 0, sizeof(*ev));
	ev->pcr = pcr;
	ev->description = strdup(description);
	if (!ev->description)
		return err_set(-ENOMEM, "out of memory");
	sim->n_events++;
	*ret = ev;
	return 0;
}

int grub_sim_measure(struct grub_sim *sim, unsigned pcr, const char *description, const void *data,
		     size_t len)
{
	struct grub_event *ev = NULL;
	int rc = add_event(sim, pcr, description, &ev);

	for (unsigned b = 0; b < sim->n_banks && rc == 0; b++) {
		ev->digest[b].alg = sim->bank[b];
		rc = digest_buf(sim->bank[b], data, len, ev->digest[b].value);
	}
	return rc;
}

/* Maps a GRUB file name to a local path: (memdisk)/x -> memdisk_dir/x, others -> root_dir. */
static int map_path(const struct grub_sim *sim, const char *grub_path, char *out, size_t size)
{
	const char *path = grub_path, *dev = grub_sim_get(sim, "root");
	char devname[64] = "";
	const char *dir;

	if (path[0] == '(') {
		const char *close = strchr(path, ')');

		if (!close || (size_t)(close - path - 1) >= sizeof(devname))
			return err_set(-EINVAL, "bad GRUB device in \"%s\"", grub_path);
		memcpy(devname, path + 1, (size_t)(close - path - 1));
		devname[close - path - 1] = '\0';
		dev = devname;
		path = close + 1;
	}
	if (path[0] != '/')
		return err_set(-EINVAL, "\"%s\" is not an absolute GRUB path", grub_path);
	if (strstr(path, "/../") ||
	    strcmp(path + strlen(path) - (strlen(path) >= 3 ? 3 : 0), "/..") == 0)
		return err_set(-EINVAL, "\"%s\": .. is not followed", grub_path);
	dir = dev && strcmp(dev, "memdisk") == 0 && sim->memdisk_dir ? sim->memdisk_dir
								     : sim->root_dir;
	if (!dir)
		return err_set(-EINVAL, "no directory holds the files of (%s)", dev ? dev : "");
	if ((size_t)snprintf(out, size, "%s%s", dir, path) >= size)
		return err_set(-ENAMETOOLONG, "path too long: %s", grub_path);
	return 0;
}

/* A GRUB name's device: "(dev)/x" -> dev, "/x" -> $root. */
static bool on_memdisk(const struct grub_sim *sim, const char *grub_path)
{
	const char *dev = grub_sim_get(sim, "root");

	if (grub_path[0] == '(')
		return strncmp(grub_path, "(memdisk)", 9) == 0;
	return dev && strcmp(dev, "memdisk") == 0;
}

/* A local file stands for GRUB's grubenv when --env gives one. */
static bool is_grubenv(const struct grub_sim *sim, const char *grub_path)
{
	const char *slash = strrchr(grub_path, '/');

	return sim->env_file && slash && strcmp(slash, "/grubenv") == 0;
}

/*
 * Opens a file as grub_file_open does: through the verifiers, so the tpm
 * verifier measures its bytes into PCR 9 -- except (memdisk) files, which
 * kern/verifiers.c passes by, and opens marked SKIP_SIGNATURE (@measure
 * false).  Returns 0 (contents in *ret if wanted), 1 if there is no such
 * file (GRUB's open fails and nothing is measured), or a negative code.
 */
static int open_file(struct grub_sim *sim, const char *grub_path, bool measure, uint8_t **ret,
		     size_t *ret_len)
{
	char local[PATH_MAX];
	uint8_t *data = NULL;
	size_t len = 0;
	struct stat sb;
	int rc;

	if (sim->st && sim->st->env && sim->st->env_name &&
	    strcmp(sim->st->env_name, grub_path) == 0) {
		data = malloc(sim->st->env_len + 1);
		if (!data)
			return err_set(-ENOMEM, "out of memory");
		memcpy(data, sim->st->env, sim->st->env_len);
		len = sim->st->env_len;
	} else {
		if (is_grubenv(sim, grub_path))
			rc = snprintf(local, sizeof(local), "%s", sim->env_file) >=
					     (int)sizeof(local)
				     ? err_set(-ENAMETOOLONG, "path too long")
				     : 0;
		else
			rc = map_path(sim, grub_path, local, sizeof(local));
		if (rc < 0)
			return rc;
		if (stat(local, &sb) < 0 || S_ISDIR(sb.st_mode))
			return 1;
		rc = file_read_all(local, FILE_MAX, &data, &len);
		if (rc < 0)
			return err_wrap(rc, "file \"%s\" GRUB would read", grub_path);
	}
	rc = 0;
	if (measure && !on_memdisk(sim, grub_path))
		rc = grub_sim_measure(sim, GRUB_PCR_FILE, grub_path, data, len);
	if (rc == 0 && ret) {
		*ret = data;
		*ret_len = len;
		data = NULL;
	}
	free(data);
	return rc;
}

int grub_sim_measure_file(struct grub_sim *sim, const char *grub_path)
{
	int rc = open_file(sim, grub_path, true, NULL, NULL);

	return rc == 1 ? err_set(-ENOENT, "file \"%s\" GRUB would load does not exist", grub_path)
		       : rc;
}

/* grub_create_loader_cmdline: join with spaces; quote args with spaces; escape \ ' ". */
static int loader_cmdline(int argc, char **argv, struct sbuf *out)
{
	int rc = 0;

	for (int i = 0; i < argc && rc == 0; i++) {
		bool space = strchr(argv[i], ' ') != NULL;

		if (i)
			rc = sbuf_putc(out, ' ');
		if (space && rc == 0)
			rc = sbuf_putc(out, '"');
		for (const char *c = argv[i]; *c && rc == 0; c++) {
			if (*c == '\\' || *c == '\'' || *c == '"')
				rc = sbuf_putc(out, '\\');
			if (rc == 0)
				rc = sbuf_putc(out, *c);
		}
		if (space && rc == 0)
			rc = sbuf_putc(out, '"');
	}
	return rc;
}

static int measure_cmdline(struct grub_sim *sim, const char *prefix, int argc, char **argv)
{
	struct sbuf line = {0}, desc = {0};
	int rc = loader_cmdline(argc, argv, &line);

	if (rc == 0)
		rc = sbuf_puts(&desc, prefix);
	if (rc == 0)
		rc = sbuf_puts(&desc, line.p ? line.p : ""); /* empty: measured as H("") */
	if (rc == 0)
		rc = grub_sim_measure(sim, GRUB_PCR_STRING, desc.p, line.p ? line.p : "", line.len);
	free(line.p);
	free(desc.p);
	return rc;
}

/* ---- source text, as GRUB's getline hands it to the lexer ---- */

/*
 * The text the lexer sees: CRs removed (grub_file_getline), and for a
 * config file read by normal.mod the lines that begin with '#' dropped
 * (read_config_file_getline).  line[k] is the source line of line k.
 */
struct source {
	char *text;
	size_t len;
	unsigned *line;
	size_t n_lines;
};

static void source_free(struct source *s)
{
	free(s->text);
	free(s->line);
	memset(s, 0, sizeof(*s));
}

static int source_prepare(const char *text, bool drop_comments, unsigned first_line,
			  struct source *ret)
{
	size_t n = strlen(text), lines = 1;
	struct source s = {0};
	unsigned line = first_line;

	for (size_t i = 0; i < n; i++)
		lines += text[i] == '\n';
	s.text = malloc(n + 2);
	s.line = calloc(lines + 1, sizeof(*s.line));
	if (!s.text || !s.line) {
		source_free(&s);
		return err_set(-ENOMEM, "out of memory");
	}
	for (const char *p = text; *p; line++) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p) : strlen(p);

		if (!(drop_comments && p[0] == '#')) {
			for (size_t i = 0; i < l; i++)
				if (p[i] != '\r')
					s.text[s.len++] = p[i];
			s.text[s.len++] = '\n'; /* the lexer ends every line with one */
			s.line[s.n_lines++] = line;
		}
		p += l + (eol ? 1 : 0);
	}
	s.text[s.len] = '\0';
	*ret = s;
	return 0;
}

/* ---- lexer (script/yylex.l) ---- */

enum part_type { P_TEXT, P_QUOTED, P_VAR, P_DQVAR };

struct part {
	enum part_type type;
	char *s;   /* text, or a variable's name */
	bool wild; /* an unquoted, unescaped * or ? */
};

struct word {
	size_t n;
	struct part *p;
};

enum tok { T_EOF, T_NL, T_SEMI, T_LBR, T_RBR, T_WORD, T_KW };

enum kw {
	K_NONE,
	K_CASE,
	K_DO,
	K_DONE,
	K_ELIF,
	K_ELSE,
	K_ESAC,
	K_FI,
	K_FOR,
	K_IF,
	K_IN,
	K_SELECT,
	K_THEN,
	K_UNTIL,
	K_WHILE,
	K_FUNCTION,
};

static const char *const kw_names[] = {"",     "case",	"do",	 "done",    "elif", "else",
				       "esac", "fi",	"for",	 "if",	    "in",   "select",
				       "then", "until", "while", "function"};

struct token {
	enum tok t;
	enum kw kw;
	size_t start, end; /* offsets of its raw text */
	unsigned line;
	bool name; /* a NAME: [A-Za-z_][A-Za-z0-9_]* */
	struct word w;
};

struct lexer {
	struct grub_state *st;
	const struct source *src;
	const char *what;
	size_t pos, line_idx;
	bool have;
	struct token tk;
};

static unsigned lx_line(const struct lexer *lx)
{
	size_t i = lx->line_idx < lx->src->n_lines ? lx->line_idx : lx->src->n_lines - 1;

	return lx->src->n_lines ? lx->src->line[i] : 1;
}

static int syntax(const struct lexer *lx, unsigned line, const char *msg)
{
	return err_set(-EINVAL, "%s:%u: syntax error: %s", lx->what, line, msg);
}

struct wbuf {
	struct word *w;
	struct sbuf cur;
	enum part_type type;
	bool open, wild;
	size_t cap;
};

static int part_end(struct lexer *lx, struct wbuf *b)
{
	struct part *p;
	size_t cap = b->cap;

	if (!b->open)
		return 0;
	int rc = ar_grow(lx->st, (void **)&b->w->p, &cap, b->w->n, sizeof(*p));

	if (rc < 0)
		return rc;
	b->cap = cap;
	p = &b->w->p[b->w->n++];
	p->type = b->type;
	p->wild = b->wild;
	p->s = ar_strndup(lx->st, b->cur.p ? b->cur.p : "", b->cur.len);
	free(b->cur.p);
	memset(&b->cur, 0, sizeof(b->cur));
	b->open = b->wild = false;
	return p->s ? 0 : -ENOMEM;
}

static int part_putc(struct lexer *lx, struct wbuf *b, enum part_type type, char c)
{
	int rc = 0;

	if (b->open && b->type != type)
		rc = part_end(lx, b);
	if (rc < 0)
		return rc;
	b->open = true;
	b->type = type;
	if (b->cur.len >= MAX_WORD)
		return err_set(-E2BIG, "%s:%u: word longer than %d", lx->what, lx_line(lx),
			       MAX_WORD);
	return c ? sbuf_putc(&b->cur, c) : sbuf_puts(&b->cur, "");
}

static bool is_name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* $NAME ${NAME} $DIGITS ${DIGITS} $? $# $* $@ (and in braces): the name, or a syntax error */
static int lex_var(struct lexer *lx, struct wbuf *b, enum part_type type)
{
	const char *t = lx->src->text;
	size_t p = lx->pos + 1, start, end;
	bool brace = t[p] == '{';
	int rc;

	if (brace)
		p++;
	start = p;
	if (is_name_start(t[p]))
		while (is_name_char(t[p]))
			p++;
	else if (isdigit((unsigned char)t[p]))
		while (isdigit((unsigned char)t[p]))
			p++;
	else if (t[p] && strchr("?#*@", t[p]))
		p++;
	end = p;
	if (end == start || (brace && t[p] != '}'))
		return syntax(lx, lx_line(lx), "$ is not followed by a variable name");
	if (brace)
		p++;
	rc = part_end(lx, b);
	if (rc < 0)
		return rc;
	b->open = true;
	b->type = type;
	rc = 0;
	for (size_t i = start; i < end && rc == 0; i++)
		rc = sbuf_putc(&b->cur, t[i]);
	if (rc == 0)
		rc = part_end(lx, b);
	lx->pos = p;
	return rc;
}

static bool word_char(char c)
{
	return c && !strchr("{}|&$;<> \t\n'\"\\", c);
}

/* One word: the SPLIT, DQUOTE and SQUOTE states of yylex.l in one pass. */
static int lex_word_in(struct lexer *lx, struct wbuf *bp);

static int lex_word(struct lexer *lx, struct token *tk)
{
	struct wbuf b = {.w = &tk->w};
	int rc = lex_word_in(lx, &b);

	free(b.cur.p);
	return rc;
}

static int lex_word_in(struct lexer *lx, struct wbuf *bp)
{
	const char *t = lx->src->text;
	struct wbuf b = *bp;
	int rc = 0;

	while (rc == 0 && lx->pos < lx->src->len) {
		char c = t[lx->pos];

		if (c == '\\') {
			if (t[lx->pos + 1] == '\n') {
				lx->pos += 2;
				lx->line_idx++;
			} else if (t[lx->pos + 1]) {
				rc = part_putc(lx, &b, P_TEXT, t[lx->pos + 1]);
				lx->pos += 2;
			} else {
				lx->pos++;
			}
		} else if (c == '\'') {
			unsigned line = lx_line(lx);
			const char *close = strchr(t + lx->pos + 1, '\'');

			if (!close)
				return *bp = b, syntax(lx, line, "unterminated '");
			rc = part_putc(lx, &b, P_QUOTED, 0);
			for (const char *q = t + lx->pos + 1; q < close && rc == 0; q++) {
				lx->line_idx += *q == '\n';
				rc = part_putc(lx, &b, P_QUOTED, *q);
			}
			lx->pos = (size_t)(close - t) + 1;
		} else if (c == '"') {
			unsigned line = lx_line(lx);

			lx->pos++;
			rc = part_putc(lx, &b, P_QUOTED, 0);
			while (rc == 0 && t[lx->pos] != '"') {
				char d = t[lx->pos];

				if (!d)
					return *bp = b, syntax(lx, line, "unterminated \"");
				if (d == '\\' && t[lx->pos + 1] &&
				    strchr("$\\\"\n", t[lx->pos + 1])) {
					if (t[lx->pos + 1] == '\n')
						lx->line_idx++;
					else
						rc = part_putc(lx, &b, P_QUOTED, t[lx->pos + 1]);
					lx->pos += 2;
				} else if (d == '$') {
					if ((rc = lex_var(lx, &b, P_DQVAR)) == 0)
						rc = part_putc(lx, &b, P_QUOTED, 0);
				} else {
					lx->line_idx += d == '\n';
					rc = part_putc(lx, &b, P_QUOTED, d);
					lx->pos++;
				}
			}
			lx->pos++;
		} else if (c == '$') {
			if (t[lx->pos + 1] == '"')
				return *bp = b, err_set(-ENOTSUP,
							"%s:%u: $\"...\" (gettext) is not modelled",
							lx->what, lx_line(lx));
			rc = lex_var(lx, &b, P_VAR);
		} else if (word_char(c)) {
			rc = part_putc(lx, &b, P_TEXT, c);
			if (c == '*' || c == '?')
				b.wild = true;
			lx->pos++;
		} else {
			break;
		}
	}
	if (rc == 0)
		rc = part_end(lx, &b);
	*bp = b;
	return rc;
}

static int lex(struct lexer *lx, struct token *tk)
{
	const char *t = lx->src->text;

	memset(tk, 0, sizeof(*tk));
	for (;;) {
		while (t[lx->pos] == ' ' || t[lx->pos] == '\t')
			lx->pos++;
		if (t[lx->pos] != '#')
			break;
		while (t[lx->pos] && t[lx->pos] != '\n')
			lx->pos++;
	}
	tk->start = lx->pos;
	tk->line = lx_line(lx);
	switch (t[lx->pos]) {
	case '\0':
		tk->t = T_EOF;
		return 0;
	case '\n':
		lx->pos++;
		lx->line_idx++;
		tk->t = T_NL;
		return 0;
	case ';':
		if (t[lx->pos + 1] == ';')
			return syntax(lx, tk->line, "\";;\" (GRUB has no case)");
		lx->pos++;
		tk->t = T_SEMI;
		return 0;
	case '{':
		lx->pos++;
		tk->t = T_LBR;
		return 0;
	case '}':
		lx->pos++;
		tk->t = T_RBR;
		tk->end = lx->pos;
		return 0;
	case '|':
	case '&':
	case '<':
	case '>': {
		char msg[96];

		snprintf(msg, sizeof(msg), "\"%.*s\" is not in GRUB's grammar",
			 t[lx->pos + 1] == t[lx->pos] ? 2 : 1, t + lx->pos);
		return syntax(lx, tk->line, msg);
	}
	default:
		break;
	}
	tk->t = T_WORD;
	int rc = lex_word(lx, tk);

	if (rc < 0)
		return rc;
	tk->end = lx->pos;
	size_t n = tk->end - tk->start;
	const char *raw = t + tk->start;

	if ((n == 2 && (!strncmp(raw, "[[", 2) || !strncmp(raw, "]]", 2))))
		return syntax(lx, tk->line, "\"[[\" and \"]]\" are not in GRUB's grammar");
	for (size_t k = 1; k < sizeof(kw_names) / sizeof(kw_names[0]); k++)
		if (strlen(kw_names[k]) == n && strncmp(raw, kw_names[k], n) == 0) {
			tk->t = T_KW;
			tk->kw = (enum kw)k;
		}
	tk->name = is_name_start(raw[0]);
	for (size_t i = 0; i < n; i++)
		tk->name = tk->name && is_name_char(raw[i]);
	return 0;
}

static int peek(struct lexer *lx, struct token **ret)
{
	int rc = 0;

	if (!lx->have)
		rc = lex(lx, &lx->tk);
	lx->have = rc == 0;
	*ret = &lx->tk;
	return rc;
}

static void consume(struct lexer *lx)
{
	lx->have = false;
}

static const char *tok_name(const struct lexer *lx, const struct token *tk, char *buf, size_t size)
{
	switch (tk->t) {
	case T_EOF:
		return "the end of the file";
	case T_NL:
		return "a newline";
	case T_SEMI:
		return "\";\"";
	case T_LBR:
		return "\"{\"";
	case T_RBR:
		return "\"}\"";
	default:
		snprintf(buf, size, "\"%.*s\"",
			 (int)(tk->end - tk->start > 40 ? 40 : tk->end - tk->start),
			 lx->src->text + tk->start);
		return buf;
	}
}

/* ---- parser (script/parser.y) ---- */

enum node_type { N_LIST, N_CMD, N_IF, N_FOR, N_WHILE, N_FUNC };

struct node {
	enum node_type type;
	unsigned line;
	struct node *next; /* in its list */
	struct node *a, *b,
		*c;	     /* LIST: a first; IF: a cond, b then, c else; WHILE: a cond, b body */
	size_t n_words, cap; /* CMD, FOR: the words */
	struct word *words;
	char *name;  /* FOR's variable, FUNC's name */
	char *block; /* CMD: the raw text of its { } block, or NULL */
	unsigned block_line;
	bool until;
};

struct parser {
	struct lexer lx;
	struct grub_state *st;
	unsigned nest;
};

static struct node *new_node(struct parser *ps, enum node_type type, unsigned line)
{
	struct node *n = ar_alloc(ps->st, sizeof(*n));

	if (n) {
		n->type = type;
		n->line = line;
	}
	return n;
}

static int unexpected(struct parser *ps, const struct token *tk, const char *wanted)
{
	char buf[64], msg[200];

	snprintf(msg, sizeof(msg), "%s where %s was expected",
		 tok_name(&ps->lx, tk, buf, sizeof(buf)), wanted);
	return syntax(&ps->lx, tk->line, msg);
}

static int expect_kw(struct parser *ps, enum kw kw, unsigned opened)
{
	struct token *tk;
	int rc = peek(&ps->lx, &tk);
	char wanted[64];

	if (rc < 0)
		return rc;
	if (tk->t == T_KW && tk->kw == kw) {
		consume(&ps->lx);
		return 0;
	}
	if (tk->t == T_EOF)
		return err_set(-EINVAL,
			       "%s:%u: syntax error: the construct opened here is not closed "
			       "(no \"%s\")",
			       ps->lx.what, opened, kw_names[kw]);
	snprintf(wanted, sizeof(wanted), "\"%s\"", kw_names[kw]);
	return unexpected(ps, tk, wanted);
}

static int skip_newlines(struct parser *ps)
{
	struct token *tk;
	int rc;

	while ((rc = peek(&ps->lx, &tk)) == 0 && tk->t == T_NL)
		consume(&ps->lx);
	return rc;
}

/* delimiters0: an optional ";" or newline, then newlines; returns 1 if there was one */
static int delimiters(struct parser *ps)
{
	struct token *tk;
	int rc = peek(&ps->lx, &tk);

	if (rc < 0 || (tk->t != T_SEMI && tk->t != T_NL))
		return rc;
	consume(&ps->lx);
	rc = skip_newlines(ps);
	return rc < 0 ? rc : 1;
}

static int parse_command(struct parser *ps, struct node **ret);

/* commands1 [delimiters]: ends before a keyword or "}" that follows a delimiter */
static int parse_commands(struct parser *ps, struct node **ret, bool *ret_delimited)
{
	struct node *list = new_node(ps, N_LIST, ps->lx.tk.line), **tail;
	struct token *tk;
	int rc;

	if (!list)
		return -ENOMEM;
	tail = &list->a;
	rc = skip_newlines(ps);
	if (rc < 0)
		return rc;
	for (;;) {
		struct node *cmd = NULL;

		rc = parse_command(ps, &cmd);
		if (rc < 0)
			return rc;
		*tail = cmd;
		tail = &cmd->next;
		rc = delimiters(ps);
		if (rc < 0)
			return rc;
		*ret_delimited = rc == 1;
		if (rc == 0)
			break;
		rc = peek(&ps->lx, &tk);
		if (rc < 0)
			return rc;
		if (tk->t == T_RBR || tk->t == T_EOF ||
		    (tk->t == T_KW && tk->kw != K_IF && tk->kw != K_FOR && tk->kw != K_WHILE &&
		     tk->kw != K_UNTIL && tk->kw != K_FUNCTION))
			break;
	}
	*ret = list;
	return 0;
}

static int parse_delimited(struct parser *ps, struct node **ret, const char *before)
{
	bool delimited = false;
	struct token *tk;
	char wanted[64];
	int rc = parse_commands(ps, ret, &delimited);

	if (rc < 0 || delimited)
		return rc;
	rc = peek(&ps->lx, &tk);
	if (rc < 0)
		return rc;
	snprintf(wanted, sizeof(wanted), "\";\" or a newline before \"%s\"", before);
	return unexpected(ps, tk, wanted);
}

/* ifclause: commands1 delim then commands1 delim [else commands1 delim | elif ifclause] */
static int parse_ifclause(struct parser *ps, unsigned line, struct node **ret)
{
	struct node *n = new_node(ps, N_IF, line);
	struct token *tk;
	int rc;

	if (!n)
		return -ENOMEM;
	rc = parse_delimited(ps, &n->a, "then");
	if (rc < 0)
		return rc;
	rc = expect_kw(ps, K_THEN, line);
	if (rc < 0)
		return rc;
	rc = parse_delimited(ps, &n->b, "fi");
	if (rc < 0)
		return rc;
	rc = peek(&ps->lx, &tk);
	if (rc < 0)
		return rc;
	if (tk->t == T_KW && tk->kw == K_ELSE) {
		consume(&ps->lx);
		rc = parse_delimited(ps, &n->c, "fi");
	} else if (tk->t == T_KW && tk->kw == K_ELIF) {
		unsigned l = tk->line;

		consume(&ps->lx);
		rc = parse_ifclause(ps, l, &n->c);
	}
	*ret = n;
	return rc;
}

/* arguments0: words, and keywords as plain words */
static int parse_words(struct parser *ps, struct node *n)
{
	struct token *tk;
	int rc;

	while ((rc = peek(&ps->lx, &tk)) == 0 && (tk->t == T_WORD || tk->t == T_KW)) {
		if (n->n_words == MAX_ARGS)
			return err_set(-E2BIG, "%s:%u: more than %d words", ps->lx.what, tk->line,
				       MAX_ARGS);
		if ((rc = ar_grow(ps->st, (void **)&n->words, &n->cap, n->n_words,
				  sizeof(*n->words))) < 0)
			return rc;
		n->words[n->n_words++] = tk->w;
		consume(&ps->lx);
	}
	return rc;
}

static int parse_grubcmd(struct parser *ps, struct node **ret)
{
	struct node *n = new_node(ps, N_CMD, ps->lx.tk.line);
	struct token *tk;
	int rc;

	if (!n)
		return -ENOMEM;
	/* the first word is the command; keywords after it are arguments */
	rc = ar_grow(ps->st, (void **)&n->words, &n->cap, 0, sizeof(*n->words));
	if (rc < 0)
		return rc;
	n->words[n->n_words++] = ps->lx.tk.w;
	consume(&ps->lx);
	rc = parse_words(ps, n);
	if (rc < 0)
		return rc;
	rc = peek(&ps->lx, &tk);
	if (rc < 0)
		return rc;
	if (tk->t == T_LBR) {
		size_t start;
		struct node *body;
		bool delimited;

		n->block_line = tk->line;
		consume(&ps->lx);
		start = ps->lx.pos;
		if (++ps->nest > MAX_DEPTH)
			return err_set(-E2BIG, "%s:%u: blocks nest deeper than %d", ps->lx.what,
				       tk->line, MAX_DEPTH);
		rc = parse_commands(ps, &body, &delimited);
		if (rc < 0)
			return rc;
		rc = peek(&ps->lx, &tk);
		if (rc < 0)
			return rc;
		ps->nest--;
		if (tk->t != T_RBR)
			return tk->t == T_EOF ? err_set(-EINVAL,
							"%s:%u: syntax error: the block opened "
							"here is not "
							"closed",
							ps->lx.what, n->block_line)
					      : unexpected(ps, tk, "\"}\"");
		n->block = ar_strndup(ps->st, ps->lx.src->text + start, tk->start - start);
		consume(&ps->lx);
		if (!n->block)
			return -ENOMEM;
	}
	*ret = n;
	return 0;
}

static int parse_command(struct parser *ps, struct node **ret)
{
	struct token *tk;
	struct node *n;
	unsigned line;
	int rc = peek(&ps->lx, &tk);

	if (rc < 0)
		return rc;
	line = tk->line;
	if (tk->t == T_WORD)
		return parse_grubcmd(ps, ret);
	if (tk->t != T_KW)
		return unexpected(ps, tk, "a command");
	if (++ps->nest > MAX_DEPTH)
		return err_set(-E2BIG, "%s:%u: commands nest deeper than %d", ps->lx.what, line,
			       MAX_DEPTH);
	switch (tk->kw) {
	case K_IF:
		consume(&ps->lx);
		if ((rc = parse_ifclause(ps, line, &n)) == 0)
			rc = expect_kw(ps, K_FI, line);
		break;
	case K_FOR:
		consume(&ps->lx);
		n = new_node(ps, N_FOR, line);
		if (!n)
			return -ENOMEM;
		rc = peek(&ps->lx, &tk);
		if (rc < 0)
			return rc;
		if (tk->t != T_WORD || !tk->name)
			return unexpected(ps, tk, "a variable name after \"for\"");
		n->name = ar_strndup(ps->st, ps->lx.src->text + tk->start, tk->end - tk->start);
		consume(&ps->lx);
		if (!n->name)
			return -ENOMEM;
		rc = expect_kw(ps, K_IN, line);
		if (rc < 0)
			return rc;
		rc = parse_words(ps, n);
		if (rc < 0)
			return rc;
		rc = delimiters(ps);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			rc = peek(&ps->lx, &tk);
			if (rc < 0)
				return rc;
			return unexpected(ps, tk, "\";\" or a newline before \"do\"");
		}
		if ((rc = expect_kw(ps, K_DO, line)) == 0 &&
		    (rc = parse_delimited(ps, &n->b, "done")) == 0)
			rc = expect_kw(ps, K_DONE, line);
		break;
	case K_WHILE:
	case K_UNTIL:
		n = new_node(ps, N_WHILE, line);
		if (!n)
			return -ENOMEM;
		n->until = tk->kw == K_UNTIL;
		consume(&ps->lx);
		if ((rc = parse_delimited(ps, &n->a, "do")) == 0 &&
		    (rc = expect_kw(ps, K_DO, line)) == 0 &&
		    (rc = parse_delimited(ps, &n->b, "done")) == 0)
			rc = expect_kw(ps, K_DONE, line);
		break;
	default: {
		char msg[80];

		snprintf(msg, sizeof(msg), "\"%s\" where a command was expected", kw_names[tk->kw]);
		return syntax(&ps->lx, line, msg);
	}
	}
	ps->nest--;
	*ret = n;
	return rc;
}

/* function NAME newlines0 { commands1 delimiters1 } -- at a script's top level only */
static int parse_function(struct parser *ps, struct node **ret)
{
	struct token *tk;
	struct node *n = new_node(ps, N_FUNC, ps->lx.tk.line);
	unsigned line = ps->lx.tk.line;
	int rc;

	if (!n)
		return -ENOMEM;
	consume(&ps->lx);
	rc = peek(&ps->lx, &tk);
	if (rc < 0)
		return rc;
	if (tk->t != T_WORD || !tk->name)
		return unexpected(ps, tk, "a function name");
	n->name = ar_strndup(ps->st, ps->lx.src->text + tk->start, tk->end - tk->start);
	consume(&ps->lx);
	if (!n->name)
		return -ENOMEM;
	rc = skip_newlines(ps);
	if (rc < 0)
		return rc;
	rc = peek(&ps->lx, &tk);
	if (rc < 0)
		return rc;
	if (tk->t != T_LBR)
		return unexpected(ps, tk, "\"{\" after the function's name");
	consume(&ps->lx);
	rc = parse_delimited(ps, &n->b, "}");
	if (rc < 0)
		return rc;
	rc = peek(&ps->lx, &tk);
	if (rc < 0)
		return rc;
	if (tk->t != T_RBR)
		return tk->t == T_EOF
			       ? err_set(-EINVAL, "%s:%u: syntax error: function %s is not closed",
					 ps->lx.what, line, n->name)
			       : unexpected(ps, tk, "\"}\"");
	consume(&ps->lx);
	*ret = n;
	return 0;
}

/* script: { newlines statement delimiter } -- the whole text, parsed before it runs */
static int parse_script(struct grub_state *st, const struct source *src, const char *what,
			struct node **ret)
{
	struct parser ps = {.lx = {.st = st, .src = src, .what = what}, .st = st};
	struct node *list, **tail;
	struct token *tk;
	int rc;

	if (++st->n_scripts > MAX_SCRIPTS)
		return err_set(-E2BIG, "%s: more than %d scripts parsed", what, MAX_SCRIPTS);
	list = new_node(&ps, N_LIST, 1);
	if (!list)
		return -ENOMEM;
	tail = &list->a;
	for (;;) {
		struct node *n = NULL;

		rc = skip_newlines(&ps);
		if (rc < 0)
			return rc;
		rc = peek(&ps.lx, &tk);
		if (rc < 0)
			return rc;
		if (tk->t == T_EOF)
			break;
		if (tk->t == T_KW && tk->kw == K_FUNCTION)
			rc = parse_function(&ps, &n);
		else
			rc = parse_command(&ps, &n);
		if (rc < 0)
			return rc;
		*tail = n;
		tail = &n->next;
		rc = peek(&ps.lx, &tk);
		if (rc < 0)
			return rc;
		if (tk->t == T_SEMI || tk->t == T_NL)
			consume(&ps.lx);
		else if (tk->t != T_EOF)
			return unexpected(&ps, tk, "\";\" or a newline");
	}
	*ret = list;
	return 0;
}

/* ---- expansion (execute.c: grub_script_arglist_to_argv) ---- */

/* An argv as GRUB builds it: the last slot may be "not started" (NULL). */
struct argv {
	int argc;
	char *arg[MAX_ARGS + 1];
	bool wild[MAX_ARGS + 1];
};

static void argv_free(struct argv *a)
{
	for (int i = 0; i < a->argc; i++)
		free(a->arg[i]);
	a->argc = 0;
}

static int argv_next(struct argv *a)
{
	if (a->argc && !a->arg[a->argc - 1])
		return 0;
	if (a->argc == MAX_ARGS)
		return err_set(-E2BIG, "more than %d words in a command", MAX_ARGS);
	a->arg[a->argc] = NULL;
	a->wild[a->argc++] = false;
	return 0;
}

static int argv_append(struct argv *a, const char *s, size_t n, bool wild)
{
	char *old = a->arg[a->argc - 1];
	size_t have = old ? strlen(old) : 0;
	char *p;

	if (have + n > MAX_WORD * 4)
		return err_set(-E2BIG, "a word longer than %d", MAX_WORD * 4);
	p = realloc(old, have + n + 1);
	if (!p)
		return err_set(-ENOMEM, "out of memory");
	memcpy(p + have, s, n);
	p[have + n] = '\0';
	a->arg[a->argc - 1] = p;
	a->wild[a->argc - 1] = a->wild[a->argc - 1] || wild;
	return 0;
}

/* grub_script_argv_split_append: words at whitespace, the first joins the current one */
static int argv_split_append(struct argv *a, const char *s)
{
	int rc = 0;

	while (*s && isspace((unsigned char)*s))
		s++;
	while (rc == 0 && *s) {
		const char *p = s;

		while (*s && !isspace((unsigned char)*s))
			s++;
		rc = argv_append(a, p, (size_t)(s - p), false);
		if (rc == 0 && memchr(p, '*', (size_t)(s - p)))
			a->wild[a->argc - 1] = true;
		if (rc == 0 && memchr(p, '?', (size_t)(s - p)))
			a->wild[a->argc - 1] = true;
		while (*s && isspace((unsigned char)*s))
			s++;
		if (rc == 0 && *s)
			rc = argv_next(a);
	}
	return rc;
}

static bool var_special(const char *name)
{
	return isdigit((unsigned char)name[0]) || !strcmp(name, "#") || !strcmp(name, "*") ||
	       !strcmp(name, "@");
}

/* grub_script_env_get + its use: $var appended to @a as GRUB does */
static int expand_var(struct grub_sim *sim, struct argv *a, const char *name, bool split)
{
	struct scope *sc = sim->st->scope;
	int rc = 0;

	if (!var_special(name)) {
		const char *v = grub_sim_get(sim, name);

		if (v && v[0])
			rc = split ? argv_split_append(a, v) : argv_append(a, v, strlen(v), false);
		return rc;
	}
	if (!sc)
		return 0;
	if (!strcmp(name, "#")) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%d", sc->argc);
		return argv_append(a, buf, strlen(buf), false);
	}
	if (!strcmp(name, "*") || !strcmp(name, "@")) {
		bool star = name[0] == '*';

		for (int i = 0; i < sc->argc && rc == 0; i++) {
			if (i && (split || !star))
				rc = argv_next(a);
			else if (i)
				rc = argv_append(a, " ", 1, false);
			if (rc == 0)
				rc = split ? argv_split_append(a, sc->argv[i])
					   : argv_append(a, sc->argv[i], strlen(sc->argv[i]),
							 false);
		}
		return rc;
	}
	unsigned long num = strtoul(name, NULL, 10);

	if (num == 0 || num > (unsigned long)sc->argc)
		return 0;
	return split ? argv_split_append(a, sc->argv[num - 1])
		     : argv_append(a, sc->argv[num - 1], strlen(sc->argv[num - 1]), false);
}

static int expand(struct grub_sim *sim, const struct word *words, size_t n, const char *block,
		  struct argv *a)
{
	int rc = 0;

	a->argc = 0;
	for (size_t w = 0; w < n && rc == 0; w++) {
		rc = argv_next(a);
		for (size_t i = 0; i < words[w].n && rc == 0; i++) {
			const struct part *p = &words[w].p[i];

			switch (p->type) {
			case P_TEXT:
				if (p->s[0])
					rc = argv_append(a, p->s, strlen(p->s), p->wild);
				break;
			case P_QUOTED:
				rc = argv_append(a, p->s, strlen(p->s), false);
				break;
			case P_VAR:
			case P_DQVAR:
				rc = expand_var(sim, a, p->s, p->type == P_VAR);
				break;
			}
		}
	}
	if (rc == 0 && block) {
		rc = argv_next(a);
		if (rc == 0)
			rc = argv_append(a, "{", 1, false);
		if (rc == 0)
			rc = argv_append(a, block, strlen(block), false);
		if (rc == 0)
			rc = argv_append(a, "}", 1, false);
	}
	if (rc == 0 && a->argc && !a->arg[a->argc - 1])
		a->argc--;
	if (rc < 0)
		argv_free(a);
	return rc;
}

/* ---- execution (execute.c) ---- */

#define GRUB_ERR_TEST_FAILURE	1
#define GRUB_ERR_FILE_NOT_FOUND 5
#define GRUB_ERR_BAD_ARGUMENT	18

struct ex {
	struct grub_sim *sim;
	const char *what;
	unsigned line;
	const char *block; /* the block argument of the command running */
	unsigned block_line;
};

static int exec_node(struct ex *x, struct node *n);

/* grub_script_execute_cmd: runs one node and sets $? */
static int exec_cmd(struct ex *x, struct node *n)
{
	char buf[16];
	int ret, rc;

	if (!n)
		return 0;
	ret = exec_node(x, n);
	if (ret < 0)
		return ret;
	snprintf(buf, sizeof(buf), "%d", ret);
	rc = grub_sim_set(x->sim, "?", buf);
	return rc < 0 ? rc : ret;
}

static int run_text(struct ex *x, const char *text, const char *what, unsigned first_line,
		    bool config);

static struct func *find_func(struct grub_state *st, const char *name)
{
	for (size_t i = 0; i < st->n_funcs; i++)
		if (!strcmp(st->funcs[i].name, name))
			return &st->funcs[i];
	return NULL;
}

static int define_func(struct grub_state *st, const char *name, struct node *body)
{
	struct func *f = find_func(st, name);
	size_t cap = st->n_funcs;

	if (f) {
		f->body = body;
		return 0;
	}
	if (st->n_funcs >= 256)
		return err_set(-E2BIG, "more than 256 functions");
	if (array_grow((void **)&st->funcs, &cap, st->n_funcs, sizeof(*st->funcs), 8) < 0)
		return -ENOMEM;
	st->funcs[st->n_funcs].name = strdup(name);
	st->funcs[st->n_funcs].body = body;
	if (!st->funcs[st->n_funcs].name)
		return err_set(-ENOMEM, "out of memory");
	st->n_funcs++;
	return 0;
}

static void scope_free(struct scope *sc)
{
	if (!sc)
		return;
	for (int i = 0; i < sc->argc; i++)
		free(sc->argv[i]);
	free(sc->argv);
	free(sc);
}

static int scope_new(int argc, char *const *argv, struct scope **ret)
{
	struct scope *sc = calloc(1, sizeof(*sc));

	if (!sc || !(sc->argv = calloc((size_t)argc + 1, sizeof(char *)))) {
		free(sc);
		return err_set(-ENOMEM, "out of memory");
	}
	for (int i = 0; i < argc; i++) {
		sc->argv[i] = strdup(argv[i]);
		if (!sc->argv[i]) {
			sc->argc = i;
			scope_free(sc);
			return err_set(-ENOMEM, "out of memory");
		}
	}
	sc->argc = argc;
	*ret = sc;
	return 0;
}

static int call_func(struct ex *x, struct func *f, int argc, char **argv)
{
	struct grub_state *st = x->sim->st;
	struct scope *old = st->scope, *sc = NULL;
	unsigned long loops = st->active_loops;
	int ret;

	if (st->depth >= MAX_DEPTH)
		return err_set(-ELOOP, "%s:%u: calls nest deeper than %d (recursion?)", x->what,
			       x->line, MAX_DEPTH);
	ret = scope_new(argc, argv, &sc);
	if (ret < 0)
		return ret;
	st->depth++;
	st->scope = sc;
	st->active_loops = 0;
	ret = exec_cmd(x, f->body);
	st->function_return = false;
	st->active_loops = loops;
	if (st->scope != sc)
		scope_free(st->scope); /* one setparams made */
	scope_free(sc);
	st->scope = old;
	st->depth--;
	return ret;
}

struct command {
	const char *name;
	int (*run)(struct ex *x, int argc, char **argv);
};

static const struct command *find_command(const char *name);

static int measure_command(struct ex *x, const struct argv *a)
{
	struct sbuf line = {0}, desc = {0};
	int rc = 0;

	for (int i = 0; i < a->argc && rc == 0; i++) {
		if (i)
			rc = sbuf_putc(&line, ' ');
		if (rc == 0)
			rc = sbuf_puts(&line, a->arg[i]);
	}
	if (rc == 0)
		rc = sbuf_puts(&desc, "grub_cmd: ");
	if (rc == 0)
		rc = sbuf_puts(&desc, line.p);
	if (rc == 0)
		rc = grub_sim_measure(x->sim, GRUB_PCR_STRING, desc.p, line.p, line.len);
	free(line.p);
	free(desc.p);
	return rc;
}

/* grub_script_execute_cmdline: expand, measure, then a command, a function or an assignment */
static int exec_cmdline(struct ex *x, struct node *n)
{
	struct argv a;
	char **args;
	int argc, ret = 0, rc;
	bool invert = false;
	const struct command *cmd;
	struct func *f = NULL;

	x->line = n->line;
	rc = expand(x->sim, n->words, n->n_words, n->block, &a);
	if (rc < 0)
		return err_wrap(rc, "%s:%u", x->what, n->line);
	if (a.argc == 0 || !a.arg[0])
		return 0;
	for (int i = 0; i < a.argc; i++)
		if (a.wild[i] && strchr("/(*", a.arg[i][0])) {
			rc = err_set(-ENOTSUP,
				     "%s:%u: \"%s\": wildcard expansion (regexp's * and ?) is not "
				     "modelled",
				     x->what, n->line, a.arg[i]);
			argv_free(&a);
			return rc;
		}
	rc = measure_command(x, &a);
	args = a.arg + 1;
	argc = a.argc - 1;
	if (rc == 0 && !strcmp(a.arg[0], "!")) {
		if (a.argc < 2) {
			argv_free(&a);
			return GRUB_ERR_BAD_ARGUMENT;
		}
		invert = true;
		args++;
		argc--;
	}
	if (rc < 0) {
		argv_free(&a);
		return rc;
	}
	const char *name = args[-1];

	cmd = find_command(name);
	if (!cmd)
		f = find_func(x->sim->st, name);
	if (cmd) {
		x->block = n->block;
		x->block_line = n->block_line;
		ret = cmd->run(x, argc + 1, args - 1);
		x->block = NULL;
	} else if (f) {
		ret = call_func(x, f, argc, args);
	} else if (strchr(name, '=')) {
		char *eq = strchr(name, '=');

		*eq = '\0';
		ret = var_special(name) ? 0 : grub_sim_set(x->sim, name, eq + 1);
		*eq = '=';
		if (ret == 0)
			ret = grub_sim_set(x->sim, "?", var_special(name) ? "18" : "0");
		argv_free(&a);
		return ret < 0 ? ret : 0;
	} else {
		rc = err_set(-ENOTSUP,
			     "%s:%u: command \"%s\" is not modelled (see pcrpredict/README.md)",
			     x->what, n->line, name);
		argv_free(&a);
		return rc;
	}
	argv_free(&a);
	if (ret < 0)
		return ret;
	if (invert)
		ret = ret == GRUB_ERR_TEST_FAILURE ? 0 : ret == 0 ? GRUB_ERR_TEST_FAILURE : 0;
	return ret;
}

static int exec_list(struct ex *x, struct node *n)
{
	struct grub_state *st = x->sim->st;
	int ret = 0;

	for (struct node *c = n->a; c; c = c->next) {
		if (st->active_breaks || st->booted)
			break;
		ret = exec_cmd(x, c);
		if (ret < 0 || st->function_return)
			break;
	}
	return ret;
}

static int exec_node(struct ex *x, struct node *n)
{
	struct grub_state *st = x->sim->st;
	int ret = 0;

	if (st->booted)
		return 0;
	switch (n->type) {
	case N_LIST:
		return exec_list(x, n);
	case N_CMD:
		return exec_cmdline(x, n);
	case N_FUNC:
		return define_func(st, n->name, n->b);
	case N_IF: {
		const char *result;

		ret = exec_cmd(x, n->a);
		if (ret < 0 || st->function_return)
			return ret;
		result = grub_sim_get(x->sim, "?");
		return exec_cmd(x, result && !strcmp(result, "0") ? n->b : n->c);
	}
	case N_FOR: {
		struct argv a;
		int rc = expand(x->sim, n->words, n->n_words, NULL, &a);

		if (rc < 0)
			return err_wrap(rc, "%s:%u", x->what, n->line);
		st->active_loops++;
		for (int i = 0; i < a.argc && ret >= 0; i++) {
			if (st->is_continue && st->active_breaks == 1)
				st->active_breaks = 0;
			if (st->active_breaks)
				continue;
			ret = grub_sim_set(x->sim, n->name, a.arg[i] ? a.arg[i] : "");
			if (ret < 0)
				break;
			ret = exec_cmd(x, n->b);
			if (st->function_return || st->booted)
				break;
		}
		if (st->active_breaks)
			st->active_breaks--;
		st->active_loops--;
		argv_free(&a);
		return ret;
	}
	case N_WHILE:
		st->active_loops++;
		for (unsigned long i = 0;; i++) {
			if (i == MAX_LOOPS) {
				ret = err_set(-ELOOP, "%s:%u: the loop runs more than %d times",
					      x->what, n->line, MAX_LOOPS);
				break;
			}
			ret = exec_cmd(x, n->a);
			if (ret < 0 || st->function_return || st->booted)
				break;
			if (n->until ? !ret : ret)
				break;
			ret = exec_cmd(x, n->b);
			if (ret < 0 || st->function_return || st->booted)
				break;
			if (st->active_breaks == 1 && st->is_continue)
				st->active_breaks = 0;
			if (st->active_breaks)
				break;
		}
		if (st->active_breaks)
			st->active_breaks--;
		st->active_loops--;
		return ret;
	}
	return 0;
}

/* Parses all of @text first (a syntax error runs nothing), then runs it. */
static int run_text(struct ex *x, const char *text, const char *what, unsigned first_line,
		    bool config)
{
	struct source src;
	struct node *script = NULL;
	struct ex sub = {.sim = x->sim, .what = what};
	int rc = source_prepare(text, config, first_line, &src);

	if (rc < 0)
		return rc;
	rc = parse_script(x->sim->st, &src, what, &script);
	source_free(&src);
	if (rc < 0)
		return rc;
	rc = exec_cmd(&sub, script);
	return rc < 0 ? rc : 0;
}

/* ---- commands ---- */

static bool word_in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	if (!n)
		return false;
	for (const char *p = list ? strstr(list, word) : NULL; p; p = strstr(p + 1, word))
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static int mark_loaded(struct grub_sim *sim, const char *name)
{
	struct sbuf b = {sim->loaded, sim->loaded_len, sim->loaded_cap};
	int rc = sbuf_puts(&b, " ");

	if (rc == 0)
		rc = sbuf_puts(&b, name);
	sim->loaded = b.p;
	sim->loaded_len = b.len;
	sim->loaded_cap = b.cap;
	return rc;
}

static int load_module(struct grub_sim *sim, const char *name, unsigned depth);

/* Dependencies from $prefix/x86_64-efi/moddep.lst ("mod: dep dep"), when it is there. */
static int load_dependencies(struct grub_sim *sim, const char *name, unsigned depth)
{
	char grub_path[512], local[PATH_MAX], key[300];
	uint8_t *lst;
	size_t len;
	int rc = 0;

	snprintf(grub_path, sizeof(grub_path), "%s/" GRUB_MOD_DIR "/moddep.lst",
		 grub_sim_get(sim, "prefix") ?: "");
	if (map_path(sim, grub_path, local, sizeof(local)) < 0 ||
	    file_read_all(local, 1 << 20, &lst, &len) < 0)
		return 0;
	snprintf(key, sizeof(key), "\n%s:", name);
	for (const char *p = (const char *)lst; p; p = strchr(p + 1, '\n')) {
		const char *line = p == (const char *)lst ? p : p + 1;
		const char *deps_start = line + strlen(key + 1), *eol;
		char deps[1024], *save = NULL;

		if (strncmp(line, key + 1, strlen(key + 1)) != 0)
			continue;
		eol = strchr(deps_start, '\n');
		snprintf(deps, sizeof(deps), "%.*s",
			 (int)(eol ? eol - deps_start : (long)strlen(deps_start)), deps_start);
		for (char *d = strtok_r(deps, " ", &save); d && rc >= 0;
		     d = strtok_r(NULL, " ", &save))
			rc = load_module(sim, d, depth + 1);
		break;
	}
	free(lst);
	return rc < 0 ? rc : 0;
}

/* grub_dl_load: a module built in or loaded before reads nothing; else its .mod, then its deps */
static int load_module(struct grub_sim *sim, const char *name, unsigned depth)
{
	char grub_path[512];
	int rc;

	if (depth > 16)
		return err_set(-ELOOP, "module dependencies nest too deep at %s", name);
	if (word_in_list(sim->preloaded, name) || word_in_list(sim->loaded, name))
		return 0;
	snprintf(grub_path, sizeof(grub_path), "%s/" GRUB_MOD_DIR "/%s.mod",
		 grub_sim_get(sim, "prefix") ?: "", name);
	rc = open_file(sim, grub_path, true, NULL, NULL);
	if (rc == 1)
		return GRUB_ERR_FILE_NOT_FOUND; /* insmod fails; nothing was read */
	if (rc == 0 && (rc = mark_loaded(sim, name)) == 0)
		rc = load_dependencies(sim, name, depth);
	return rc;
}

static int cmd_insmod(struct ex *x, int argc, char **argv)
{
	if (argc < 2)
		return GRUB_ERR_BAD_ARGUMENT;
	return load_module(x->sim, argv[1], 0);
}

static int cmd_set(struct ex *x, int argc, char **argv)
{
	if (argc < 2)
		return 0; /* prints the variables */
	char *eq = strchr(argv[1], '=');
	int rc;

	if (!eq)
		return 0; /* "set name" prints it */
	*eq = '\0';
	rc = var_special(argv[1]) ? GRUB_ERR_BAD_ARGUMENT : grub_sim_set(x->sim, argv[1], eq + 1);
	*eq = '=';
	return rc;
}

static int cmd_unset(struct ex *x, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		grub_sim_unset(x->sim, argv[i]);
	return 0;
}

static int cmd_export(struct ex *x, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		bool found = false;

		for (size_t k = 0; k < x->sim->n_vars; k++)
			if (!strcmp(x->sim->var[k].name, argv[i]))
				x->sim->var[k].exported = 1, found = true;
		if (!found) {
			int rc = set_exported(x->sim, argv[i], "");

			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int cmd_true(struct ex *x, int argc, char **argv)
{
	(void)x, (void)argc, (void)argv;
	return 0;
}

static int cmd_false(struct ex *x, int argc, char **argv)
{
	(void)x, (void)argc, (void)argv;
	return GRUB_ERR_TEST_FAILURE;
}

/* What test's get_fileinfo finds (a directory listing: nothing is read or measured). */
static int file_info(struct grub_sim *sim, const char *grub_path, bool *exists, bool *dir)
{
	char local[PATH_MAX], path[PATH_MAX];
	const char *close = grub_path[0] == '(' ? strchr(grub_path, ')') : NULL;
	struct stat sb;

	*exists = *dir = false;
	if (close && close[1] == '\0') { /* the whole device */
		*exists = *dir = true;
		return 0;
	}
	snprintf(path, sizeof(path), "%s", grub_path);
	for (size_t n = strlen(path); n > 1 && path[n - 1] == '/'; n--)
		path[n - 1] = '\0';
	if (map_path(sim, path, local, sizeof(local)) < 0)
		return 0; /* GRUB: no such device or file */
	if (stat(local, &sb) == 0) {
		*exists = true;
		*dir = S_ISDIR(sb.st_mode);
	}
	return 0;
}

static long strtosl(const char *s)
{
	return s[0] == '-' ? -(long)strtoul(s + 1, NULL, 0) : (long)strtoul(s, NULL, 0);
}

struct test_ctx {
	bool invert, or, and;
};

static void update_val(bool val, struct test_ctx *t)
{
	t->and = t->and &&(t->invert ? !val : val);
	t->invert = false;
}

/* commands/test.c's test_parse, case for case */
static int test_parse(struct ex *x, char **args, int *argn, int argc, unsigned depth, bool *ret)
{
	struct test_ctx t = {.and = true};
	static const char *const num_ops[] = {"-eq", "-ge", "-gt", "-le", "-lt", "-ne"};
	int rc;

	if (depth > 32)
		return err_set(-E2BIG, "%s:%u: test nests ( too deep", x->what, x->line);
	while (*argn < argc) {
		char **a = args + *argn;

		if (*argn + 2 < argc) {
			int c = strcmp(a[0], a[2]);
			const char *op = a[1];
			bool done = true;

			if (!strcmp(op, "=") || !strcmp(op, "=="))
				update_val(c == 0, &t);
			else if (!strcmp(op, "!="))
				update_val(c != 0, &t);
			else if (!strcmp(op, "<"))
				update_val(c < 0, &t);
			else if (!strcmp(op, "<="))
				update_val(c <= 0, &t);
			else if (!strcmp(op, ">"))
				update_val(c > 0, &t);
			else if (!strcmp(op, ">="))
				update_val(c >= 0, &t);
			else
				done = false;
			for (size_t k = 0; !done && k < sizeof(num_ops) / sizeof(num_ops[0]); k++) {
				long l = strtosl(a[0]), r = strtosl(a[2]);
				bool v[] = {l == r, l >= r, l > r, l <= r, l < r, l != r};

				if (!strcmp(op, num_ops[k])) {
					update_val(v[k], &t);
					done = true;
				}
			}
			if (!done && (!strcmp(op, "-pgt") || !strcmp(op, "-plt"))) {
				int i;

				for (i = 0; a[0][i] == a[2][i] && a[0][i]; i++)
					;
				i--;
				while (i > 0 && isdigit((unsigned char)a[0][i]))
					i--;
				i++;
				unsigned long l = strtoul(a[0] + i, NULL, 0),
					      r = strtoul(a[2] + i, NULL, 0);

				update_val(op[2] == 'g' ? l > r : l < r, &t);
				done = true;
			}
			if (!done && (!strncmp(op, "-nt", 3) || !strncmp(op, "-ot", 3)))
				return err_set(-ENOTSUP,
					       "%s:%u: test %s (file times) is not modelled",
					       x->what, x->line, op);
			if (done) {
				*argn += 3;
				continue;
			}
		}
		if (*argn + 1 < argc) {
			bool exists, dir, done = true;

			if (!strcmp(a[0], "-d") || !strcmp(a[0], "-e") || !strcmp(a[0], "-f")) {
				rc = file_info(x->sim, a[1], &exists, &dir);
				if (rc < 0)
					return rc;
				update_val(a[0][1] == 'e'   ? exists
					   : a[0][1] == 'd' ? exists && dir
							    : exists && !dir,
					   &t);
			} else if (!strcmp(a[0], "-s")) {
				uint8_t *data = NULL;
				size_t len = 0;

				/* opened: the verifiers read and measure it */
				rc = open_file(x->sim, a[1], true, &data, &len);
				if (rc < 0)
					return rc;
				update_val(rc == 0 && len != 0, &t);
				free(data);
			} else if (!strcmp(a[0], "-n")) {
				update_val(a[1][0] != '\0', &t);
			} else if (!strcmp(a[0], "-z")) {
				update_val(a[1][0] == '\0', &t);
			} else {
				done = false;
			}
			if (done) {
				*argn += 2;
				continue;
			}
		}
		if (!strcmp(a[0], ")")) {
			(*argn)++;
			*ret = t.or || t.and;
			return 0;
		}
		if (!strcmp(a[0], "(")) {
			bool v;

			(*argn)++;
			rc = test_parse(x, args, argn, argc, depth + 1, &v);
			if (rc < 0)
				return rc;
			update_val(v, &t);
			continue;
		}
		if (!strcmp(a[0], "!")) {
			t.invert = !t.invert;
			(*argn)++;
			continue;
		}
		if (!strcmp(a[0], "-a")) {
			(*argn)++;
			continue;
		}
		if (!strcmp(a[0], "-o")) {
			t.or = t.or || t.and;
			t.and = true;
			(*argn)++;
			continue;
		}
		update_val(a[0][0] != '\0', &t);
		(*argn)++;
	}
	*ret = t.or || t.and;
	return 0;
}

static int cmd_test(struct ex *x, int argc, char **argv)
{
	int argn = 0, n = argc - 1, rc;
	bool v;

	if (n >= 1 && !strcmp(argv[argc - 1], "]"))
		n--;
	rc = test_parse(x, argv + 1, &argn, n, 0, &v);
	return rc < 0 ? rc : v ? 0 : GRUB_ERR_TEST_FAILURE;
}

/* search (search_wrap.c): --file opens PATH on the device found (measured) */
static int cmd_search(struct ex *x, int argc, char **argv)
{
	struct grub_sim *sim = x->sim;
	const char *var = NULL, *key = NULL;
	char mode = 0;
	int rc = 0;

	if (!strcmp(argv[0], "search.file") || !strcmp(argv[0], "search_fs_file"))
		mode = 'f';
	else if (!strcmp(argv[0], "search.fs_uuid") || !strcmp(argv[0], "search_fs_uuid"))
		mode = 'u';
	else if (!strcmp(argv[0], "search.fs_label") || !strcmp(argv[0], "search_label"))
		mode = 'l';
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--file") || !strcmp(a, "-f"))
			mode = 'f';
		else if (!strcmp(a, "--fs-uuid") || !strcmp(a, "-u"))
			mode = 'u';
		else if (!strcmp(a, "--label") || !strcmp(a, "-l"))
			mode = 'l';
		else if (!strncmp(a, "--set=", 6))
			var = a + 6;
		else if (!strcmp(a, "--set"))
			var = "root";
		else if (!strcmp(a, "-s"))
			var = i + 1 < argc && (strlen(argv[i + 1]) < 2 || argv[i + 1][0] != '-')
				      ? argv[++i]
				      : "root";
		else if (!strcmp(a, "--no-floppy") || !strcmp(a, "-n") ||
			 !strncmp(a, "--hint", 6) || !strcmp(a, "-h") ||
			 !strcmp(a, "--efidisk-only")) {
			if ((!strcmp(a, "-h") || (!strncmp(a, "--hint", 6) && !strchr(a, '='))) &&
			    i + 1 < argc)
				i++; /* the hint */
		} else if (!strcmp(a, "--"))
			continue;
		else if (a[0] == '-' && a[1])
			return GRUB_ERR_BAD_ARGUMENT;
		else if (!key)
			key = a;
	}
	if (!key || !mode)
		return GRUB_ERR_BAD_ARGUMENT;
	if (mode == 'f') {
		char path[PATH_MAX];

		if ((size_t)snprintf(path, sizeof(path), "(%s)%s", sim->search_result, key) >=
		    sizeof(path))
			return err_set(-ENAMETOOLONG, "path too long");
		rc = open_file(sim, path, true, NULL, NULL);
		if (rc < 0)
			return rc;
		if (rc == 1)
			return GRUB_ERR_FILE_NOT_FOUND;
	} else if (mode == 'u' && sim->fs_uuid && strcasecmp(sim->fs_uuid, key) != 0) {
		return GRUB_ERR_FILE_NOT_FOUND;
	} else if (mode == 'l' && sim->fs_label && strcmp(sim->fs_label, key) != 0) {
		return GRUB_ERR_FILE_NOT_FOUND;
	}
	return var ? grub_sim_set(sim, var, sim->search_result) : 0;
}

static int cmd_linux(struct ex *x, int argc, char **argv)
{
	int rc;

	x->sim->st->kernel_loaded = false;
	if (argc < 2)
		return err_set(-EINVAL, "%s:%u: %s needs a kernel", x->what, x->line, argv[0]);
	rc = grub_sim_measure_file(x->sim, argv[1]);
	/* the kernel path is part of the command line ("BOOT_IMAGE=" is not measured) */
	if (rc == 0)
		rc = measure_cmdline(x->sim, "kernel_cmdline: ", argc - 1, argv + 1);
	x->sim->st->kernel_loaded = rc == 0;
	return rc;
}

static int cmd_initrd(struct ex *x, int argc, char **argv)
{
	int rc = 0;

	if (!x->sim->st->kernel_loaded)
		return GRUB_ERR_BAD_ARGUMENT; /* "you need to load the kernel first" */
	for (int i = 1; i < argc && rc == 0; i++)
		if (strncmp(argv[i], "--", 2) != 0)
			rc = grub_sim_measure_file(x->sim, argv[i]);
	return rc;
}

static int cmd_multiboot2(struct ex *x, int argc, char **argv)
{
	bool module = strcmp(argv[0], "module2") == 0;
	int i = 1, rc;

	while (i < argc && strncmp(argv[i], "--", 2) == 0) /* --quirk-*, --nounzip */
		i++;
	if (i >= argc)
		return err_set(-EINVAL, "%s:%u: %s needs a file", x->what, x->line, argv[0]);
	rc = grub_sim_measure_file(x->sim, argv[i]);
	if (rc < 0)
		return rc;
	if (!module)
		x->sim->st->kernel_loaded = true;
	return measure_cmdline(x->sim,
			       module ? "module_cmdline: " : "kernel_cmdline: ", argc - i - 1,
			       argv + i + 1);
}

static int cmd_boot(struct ex *x, int argc, char **argv)
{
	(void)argc, (void)argv;
	x->sim->st->booted = true;
	return 0;
}

/* font.c: a name without '/', '(' or '+' is $prefix/fonts/NAME.pf2 */
static int cmd_loadfont(struct ex *x, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char path[PATH_MAX];
		int rc;

		if (strchr("/(+", argv[i][0]))
			snprintf(path, sizeof(path), "%s", argv[i]);
		else
			snprintf(path, sizeof(path), "%s/fonts/%s.pf2",
				 grub_sim_get(x->sim, "prefix") ?: "", argv[i]);
		rc = open_file(x->sim, path, true, NULL, NULL);
		if (rc != 0)
			return rc == 1 ? GRUB_ERR_FILE_NOT_FOUND : rc;
	}
	return 0;
}

static int cmd_setparams(struct ex *x, int argc, char **argv)
{
	struct grub_state *st = x->sim->st;
	struct scope *sc;
	int rc;

	if (!st->scope)
		return 17; /* GRUB_ERR_INVALID_COMMAND */
	rc = scope_new(argc - 1, argv + 1, &sc);
	if (rc < 0)
		return rc;
	/* replace_scope: a scope setparams made before is freed, the caller's is kept */
	sc->setparams = true;
	if (st->scope->setparams)
		scope_free(st->scope);
	st->scope = sc;
	return 0;
}

static int cmd_shift(struct ex *x, int argc, char **argv)
{
	struct scope *sc = x->sim->st->scope;
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1;

	if (!sc)
		return 0;
	if (argc > 2 || n > (unsigned long)sc->argc)
		return GRUB_ERR_BAD_ARGUMENT;
	for (unsigned long i = 0; i < n; i++)
		free(sc->argv[i]);
	memmove(sc->argv, sc->argv + n, (size_t)(sc->argc - (int)n) * sizeof(char *));
	sc->argc -= (int)n;
	return 0;
}

static int cmd_return(struct ex *x, int argc, char **argv)
{
	struct grub_state *st = x->sim->st;
	const char *q;

	if (!st->scope || argc > 2)
		return GRUB_ERR_BAD_ARGUMENT;
	st->function_return = true;
	if (argc == 1) {
		q = grub_sim_get(x->sim, "?");
		return q ? (int)strtoul(q, NULL, 10) : 0;
	}
	return (int)strtoul(argv[1], NULL, 10);
}

static int cmd_break(struct ex *x, int argc, char **argv)
{
	struct grub_state *st = x->sim->st;
	char *end;
	unsigned long n = argc > 1 ? strtoul(argv[1], &end, 10) : 1;

	if (argc > 2 || (argc > 1 && *end) || n == 0)
		return GRUB_ERR_BAD_ARGUMENT;
	st->is_continue = strcmp(argv[0], "break") != 0;
	st->active_breaks = n > st->active_loops ? st->active_loops : n;
	return 0;
}

/* ---- grubenv (lib/envblk.c's format) ---- */

#define ENVBLK_SIGNATURE "# GRUB Environment Block\n"

struct env_var {
	char *name, *value;
};

static void env_free(struct env_var *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

/* "name=value" lines after the signature; \\ and \n escaped in values; '#' lines padding */
static int env_parse(const uint8_t *data, size_t len, struct env_var **ret, size_t *ret_n)
{
	size_t sig = strlen(ENVBLK_SIGNATURE), n = 0, cap = 0;
	struct env_var *v = NULL;
	const char *p = (const char *)data + sig, *end = (const char *)data + len;

	if (len < sig || memcmp(data, ENVBLK_SIGNATURE, sig) != 0)
		return 1;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *eq;
		struct sbuf val = {0};
		int rc = 0;

		if (!eol)
			break;
		eq = memchr(p, '=', (size_t)(eol - p));
		if (*p != '#' && eq) {
			for (const char *q = eq + 1; q < eol && rc == 0; q++) {
				if (*q == '\\' && q + 1 < eol)
					q++;
				rc = sbuf_putc(&val, *q);
			}
			if (rc == 0 && n < 1024)
				rc = array_grow((void **)&v, &cap, n, sizeof(*v), 8);
			if (rc == 0 && n < 1024) {
				v[n].name = strndup(p, (size_t)(eq - p));
				v[n].value = val.p ? val.p : strdup("");
				val.p = NULL;
				rc = v[n].name && v[n].value ? 0 : -ENOMEM;
				n++;
			}
			free(val.p);
			if (rc < 0) {
				env_free(v, n);
				return err_set(-ENOMEM, "out of memory");
			}
		}
		p = eol + 1;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int read_env(struct ex *x, const char *file, bool measure, uint8_t **data, size_t *len,
		    char **ret_name)
{
	char name[PATH_MAX];
	int rc;

	if (file)
		snprintf(name, sizeof(name), "%s", file);
	else if (!grub_sim_get(x->sim, "prefix"))
		return GRUB_ERR_FILE_NOT_FOUND;
	else
		snprintf(name, sizeof(name), "%s/grubenv", grub_sim_get(x->sim, "prefix"));
	rc = open_file(x->sim, name, measure, data, len);
	if (rc == 1)
		return GRUB_ERR_FILE_NOT_FOUND;
	if (rc == 0 && ret_name && !(*ret_name = strdup(name))) {
		free(*data);
		return err_set(-ENOMEM, "out of memory");
	}
	return rc;
}

/* load_env [-f FILE] [--skip-sig] [VAR...]: the file is read through the verifiers (measured) */
static int cmd_load_env(struct ex *x, int argc, char **argv)
{
	const char *file = NULL;
	bool skip_sig = false;
	int first = 1, rc;
	uint8_t *data;
	size_t len, n;
	struct env_var *v;

	for (; first < argc && argv[first][0] == '-'; first++)
		if ((!strcmp(argv[first], "-f") || !strcmp(argv[first], "--file")) &&
		    first + 1 < argc)
			file = argv[++first];
		else if (!strncmp(argv[first], "--file=", 7))
			file = argv[first] + 7;
		else if (!strcmp(argv[first], "-s") || !strcmp(argv[first], "--skip-sig"))
			skip_sig = true;
		else
			return GRUB_ERR_BAD_ARGUMENT;
	if ((rc = read_env(x, file, !skip_sig, &data, &len, NULL)) != 0)
		return rc;
	rc = env_parse(data, len, &v, &n);
	free(data);
	if (rc == 1)
		return 4; /* GRUB_ERR_BAD_FILE_TYPE: "invalid environment block" */
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool wanted = first >= argc;

		for (int k = first; k < argc; k++)
			wanted = wanted || !strcmp(argv[k], v[i].name);
		if (wanted)
			rc = grub_sim_set(x->sim, v[i].name, v[i].value);
	}
	env_free(v, n);
	return rc;
}

/*
 * save_env [-f FILE] VAR...: opened SKIP_SIGNATURE (not measured), the block
 * rewritten in place; later reads in this boot see the new block.
 */
static int cmd_save_env(struct ex *x, int argc, char **argv)
{
	struct grub_state *st = x->sim->st;
	const char *file = NULL;
	int first = 1, rc;
	uint8_t *data;
	size_t len, n, used = strlen(ENVBLK_SIGNATURE);
	struct env_var *v;
	char *name = NULL;
	struct sbuf out = {0};

	for (; first < argc && argv[first][0] == '-'; first++)
		if ((!strcmp(argv[first], "-f") || !strcmp(argv[first], "--file")) &&
		    first + 1 < argc)
			file = argv[++first];
		else if (!strncmp(argv[first], "--file=", 7))
			file = argv[first] + 7;
		else
			return GRUB_ERR_BAD_ARGUMENT;
	if (first >= argc)
		return GRUB_ERR_BAD_ARGUMENT;
	if ((rc = read_env(x, file, false, &data, &len, &name)) != 0)
		return rc;
	rc = env_parse(data, len, &v, &n);
	free(data);
	if (rc == 1) {
		free(name);
		return 4;
	}
	for (int k = first; k < argc && rc == 0; k++) {
		const char *value = grub_sim_get(x->sim, argv[k]);
		size_t i;

		for (i = 0; i < n && strcmp(v[i].name, argv[k]); i++)
			;
		if (i < n) {
			free(v[i].value);
			v[i].value = value ? strdup(value) : NULL;
			if (!value) { /* grub_envblk_delete: the others keep their order */
				free(v[i].name);
				memmove(&v[i], &v[i + 1], (n - i - 1) * sizeof(*v));
				n--;
			}
		} else if (value) {
			size_t cap = n;

			rc = array_grow((void **)&v, &cap, n, sizeof(*v), 8);
			if (rc == 0) {
				v[n].name = strdup(argv[k]);
				v[n].value = strdup(value);
				n++;
			}
		}
	}
	rc = rc < 0 ? rc : sbuf_puts(&out, ENVBLK_SIGNATURE);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = sbuf_puts(&out, v[i].name);
		if (rc == 0)
			rc = sbuf_putc(&out, '=');
		for (const char *c = v[i].value ? v[i].value : ""; *c && rc == 0; c++) {
			if (*c == '\\' || *c == '\n')
				rc = sbuf_putc(&out, '\\');
			if (rc == 0)
				rc = sbuf_putc(&out, *c);
		}
		if (rc == 0)
			rc = sbuf_putc(&out, '\n');
	}
	used = out.len;
	if (rc == 0 && used > len)
		rc = 0, used = 0; /* "environment block too small": nothing written */
	while (rc == 0 && used && out.len < len)
		rc = sbuf_putc(&out, '#');
	if (rc == 0 && used) {
		free(st->env);
		free(st->env_name);
		st->env = (uint8_t *)out.p;
		st->env_len = out.len;
		st->env_name = name;
		out.p = NULL;
		name = NULL;
	}
	free(out.p);
	free(name);
	env_free(v, n);
	return rc < 0 ? rc : used ? 0 : GRUB_ERR_BAD_ARGUMENT;
}

/* ---- menus (commands/menuentry.c, normal/menu.c) ---- */

/* setparams_prefix: "setparams 'A' 'B'\n", with ' written '\'' */
static int setparams_prefix(int argc, char **args, struct sbuf *out)
{
	int rc = sbuf_puts(out, "setparams");

	for (int i = 0; i < argc && rc == 0; i++) {
		rc = sbuf_puts(out, " '");
		for (const char *c = args[i]; *c && rc == 0; c++)
			rc = *c == '\'' ? sbuf_puts(out, "'\\''") : sbuf_putc(out, *c);
		if (rc == 0)
			rc = sbuf_putc(out, '\'');
	}
	return rc == 0 ? sbuf_putc(out, '\n') : rc;
}

static const char *const entry_opts_arg[] = {"--class", "--users", "--hotkey", "--source", "--id"};

/* menuentry/submenu [--class C]... [--id ID] [--users U] [--unrestricted] TITLE [ARG]... { BODY } */
static int cmd_menuentry(struct ex *x, int argc, char **argv)
{
	struct grub_state *st = x->sim->st;
	struct menu *m = st->menus[st->n_menus - 1];
	char *pos[MAX_ARGS];
	int n_pos = 0, rc = 0;
	const char *id = NULL, *source = NULL;
	struct sbuf src = {0};
	size_t cap = m->n;
	struct menu_entry *e;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool known = false;

		if (x->block && i == argc - 1) {
			pos[n_pos++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			while (++i < argc)
				pos[n_pos++] = argv[i];
			break;
		}
		if (a[0] != '-' || !a[1]) {
			pos[n_pos++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--unrestricted"))
			continue;
		for (size_t k = 0; k < sizeof(entry_opts_arg) / sizeof(entry_opts_arg[0]); k++) {
			size_t l = strlen(entry_opts_arg[k]);
			const char *val = NULL;

			if (!strcmp(a, entry_opts_arg[k]) && i + 1 < argc)
				val = argv[++i];
			else if (!strncmp(a, entry_opts_arg[k], l) && a[l] == '=')
				val = a + l + 1;
			if (!val)
				continue;
			known = true;
			if (k == 4)
				id = val;
			if (k == 3)
				source = val;
		}
		if (!known)
			return GRUB_ERR_BAD_ARGUMENT; /* extcmd: unknown argument */
	}
	if (x->block && source)
		return GRUB_ERR_BAD_ARGUMENT; /* "multiple menuentry definitions" */
	if (x->block)
		n_pos--; /* the block itself */
	if (n_pos < 1 || (!x->block && !source))
		return GRUB_ERR_BAD_ARGUMENT;
	if (m->n >= MAX_ENTRIES)
		return err_set(-E2BIG, "%s:%u: more than %d menu entries", x->what, x->line,
			       MAX_ENTRIES);
	if (x->block)
		rc = setparams_prefix(n_pos, pos, &src);
	if (rc == 0)
		rc = sbuf_puts(&src, x->block ? x->block : source);
	if (rc == 0)
		rc = array_grow((void **)&m->e, &cap, m->n, sizeof(*m->e), 8);
	if (rc < 0) {
		free(src.p);
		return rc;
	}
	e = &m->e[m->n];
	memset(e, 0, sizeof(*e));
	e->title = strdup(pos[0]);
	e->id = strdup(id ? id : pos[0]);
	e->what = strdup(x->what);
	e->src = src.p;
	e->args = calloc((size_t)n_pos + 1, sizeof(char *));
	e->submenu = argv[0][0] == 's';
	e->line = x->block ? x->block_line : x->line;
	m->n++;
	if (!e->title || !e->id || !e->what || !e->args || !e->src)
		return err_set(-ENOMEM, "out of memory");
	for (int i = 0; i < n_pos; i++, e->argc++)
		if (!(e->args[i] = strdup(pos[i])))
			return err_set(-ENOMEM, "out of memory");
	return 0;
}

/* grub_env_context_open: a new context holding the exported variables only */
static int context_open(struct grub_sim *sim)
{
	struct grub_state *st = sim->st;
	struct grub_var *var = calloc(sim->n_vars + 1, sizeof(*var));
	size_t n = 0;

	if (st->n_ctx == MAX_DEPTH || !var) {
		free(var);
		return err_set(st->n_ctx == MAX_DEPTH ? -E2BIG : -ENOMEM,
			       "contexts nest deeper than %d", MAX_DEPTH);
	}
	for (size_t i = 0; i < sim->n_vars; i++) {
		if (!sim->var[i].exported)
			continue;
		var[n].name = strdup(sim->var[i].name);
		var[n].value = strdup(sim->var[i].value);
		var[n].exported = 1;
		if (!var[n].name || !var[n].value) {
			vars_free(var, n + 1);
			return err_set(-ENOMEM, "out of memory");
		}
		n++;
	}
	st->ctx[st->n_ctx].var = sim->var;
	st->ctx[st->n_ctx].n_vars = sim->n_vars;
	st->n_ctx++;
	sim->var = var;
	sim->n_vars = n;
	return 0;
}

static void context_close(struct grub_sim *sim)
{
	struct grub_state *st = sim->st;

	vars_free(sim->var, sim->n_vars);
	st->n_ctx--;
	sim->var = st->ctx[st->n_ctx].var;
	sim->n_vars = st->ctx[st->n_ctx].n_vars;
}

/* grub_strtoul(val, 0, 0) as get_entry_number uses it: -1 if no digits or overflow */
static long entry_number(const char *val)
{
	const char *s = val;
	int base = 10;
	unsigned long long n = 0;
	bool found = false;

	while (isspace((unsigned char)*s))
		s++;
	if (s[0] == '0' && s[1] == 'x')
		base = 16, s += 2;
	else if (s[0] == '0' && s[1] >= '0' && s[1] <= '7')
		base = 8;
	for (; *s; s++) {
		int d = isdigit((unsigned char)*s)   ? *s - '0'
			: isalpha((unsigned char)*s) ? tolower((unsigned char)*s) - 'a' + 10
						     : 99;

		if (d >= base)
			break;
		found = true;
		if (n > (ULLONG_MAX - (unsigned)d) / (unsigned)base)
			return -1;
		n = n * (unsigned)base + (unsigned)d;
	}
	return found ? (long)(int)n : -2;
}

/* menuentry_eq: ID equals SPEC up to SPEC's first single '>' ('>>' is a '>') */
static bool menuentry_eq(const char *id, const char *spec)
{
	for (;;) {
		if (*spec == '>' && spec[1] != '>')
			return *id == '\0';
		if (*spec == '>')
			spec++;
		if (*id != *spec)
			return false;
		if (!*id)
			return true;
		id++;
		spec++;
	}
}

static int get_entry_number(const struct menu *m, const char *val)
{
	long n;

	if (!val)
		return -1;
	n = entry_number(val);
	if (n == -2) {
		for (size_t i = 0; i < m->n; i++)
			if (menuentry_eq(m->e[i].title, val) || menuentry_eq(m->e[i].id, val))
				return (int)i;
		return -1;
	}
	return (int)n;
}

static int show_menu(struct ex *x, struct menu *m);

/* grub_menu_execute_entry: $chosen and $default for a submenu, then the entry's source */
static int execute_entry(struct ex *x, struct menu_entry *e)
{
	struct grub_sim *sim = x->sim;
	struct grub_state *st = sim->st;
	struct sbuf chosen = {0};
	const char *old_chosen = grub_sim_get(sim, "chosen"), *def = grub_sim_get(sim, "default");
	const char *p;
	char what[400];
	struct scope *sc = NULL, *old_scope = st->scope;
	int rc = 0;

	if (st->depth >= MAX_DEPTH)
		return err_set(-ELOOP, "menus nest deeper than %d", MAX_DEPTH);
	if (e->submenu) {
		struct menu *nm = calloc(1, sizeof(*nm));

		if (!nm || st->n_menus == MAX_DEPTH) {
			free(nm);
			return err_set(-E2BIG, "submenus nest deeper than %d", MAX_DEPTH);
		}
		rc = context_open(sim);
		if (rc < 0) {
			free(nm);
			return rc;
		}
		st->menus[st->n_menus++] = nm;
		rc = grub_sim_set(sim, "timeout", "0");
	}
	if (rc == 0 && old_chosen)
		rc = sbuf_puts(&chosen, old_chosen);
	if (rc == 0 && old_chosen)
		rc = sbuf_putc(&chosen, '>');
	for (p = e->id; *p && rc == 0; p++)
		rc = *p == '>' ? sbuf_puts(&chosen, ">>") : sbuf_putc(&chosen, *p);
	if (rc == 0)
		rc = set_exported(sim, "chosen", chosen.p ? chosen.p : "");
	free(chosen.p);
	for (p = def; p && *p; p++) {
		if (p[0] == '>' && p[1] == '>') {
			p++;
			continue;
		}
		if (p[0] == '>')
			break;
	}
	if (rc == 0 && p && p[0] && p[1]) {
		char *rest = strdup(p + 1);

		rc = rest ? grub_sim_set(sim, "default", rest) : -ENOMEM;
		free(rest);
	} else if (rc == 0) {
		grub_sim_unset(sim, "default");
	}
	snprintf(what, sizeof(what), "%s (menuentry \"%.200s\")", e->what, e->title);
	if (rc == 0)
		rc = scope_new(e->argc, e->args, &sc);
	if (rc == 0) {
		st->scope = sc;
		st->depth++;
		rc = run_text(x, e->src, what, e->line ? e->line - 1 : 0, false);
		st->depth--;
		if (st->scope != sc)
			scope_free(st->scope);
		scope_free(sc);
		st->scope = old_scope;
	}
	/* the menu boots what the entry loaded (grub_command_execute: not measured) */
	if (rc == 0 && st->kernel_loaded)
		st->booted = true;
	if (e->submenu) {
		struct menu *nm = st->menus[st->n_menus - 1];

		if (rc == 0 && !st->booted && nm->n)
			rc = show_menu(x, nm);
		menu_free(nm);
		st->n_menus--;
		context_close(sim);
	}
	return rc;
}

/* run_menu with its timeout expiring: $default by number, title or id, else the first */
static int show_menu(struct ex *x, struct menu *m)
{
	int idx;

	if (m->n == 0)
		return err_set(-ENOENT, "the configuration defines no menuentry to boot");
	idx = get_entry_number(m, grub_sim_get(x->sim, "default"));
	if (idx < 0 || (size_t)idx >= m->n)
		idx = 0;
	return execute_entry(x, &m->e[idx]);
}

/*
 * read_config_file: $config_file and $config_directory for the file, each
 * line parsed and run; source keeps the context and the menu, configfile
 * opens a new context and shows the file's own menu.
 */
static int read_config(struct ex *x, const char *name, const char *text)
{
	struct grub_sim *sim = x->sim;
	char *old_file = NULL, *old_dir = NULL, dir[PATH_MAX];
	const char *v;
	int rc = 0;

	if ((v = grub_sim_get(sim, "config_file")) && !(old_file = strdup(v)))
		return err_set(-ENOMEM, "out of memory");
	if ((v = grub_sim_get(sim, "config_directory")) && !(old_dir = strdup(v))) {
		free(old_file);
		return err_set(-ENOMEM, "out of memory");
	}
	if (name[0] == '(')
		snprintf(dir, sizeof(dir), "%s", name);
	else
		snprintf(dir, sizeof(dir), "(%s)%s", grub_sim_get(sim, "root") ?: "", name);
	rc = set_exported(sim, "config_file", dir);
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	if (rc == 0)
		rc = set_exported(sim, "config_directory", dir);
	if (rc == 0)
		rc = run_text(x, text, name, 1, true);
	if (!sim->st->booted) {
		if (old_file)
			grub_sim_set(sim, "config_file", old_file);
		else
			grub_sim_unset(sim, "config_file");
		if (old_dir)
			grub_sim_set(sim, "config_directory", old_dir);
		else
			grub_sim_unset(sim, "config_directory");
	}
	free(old_file);
	free(old_dir);
	return rc;
}

static int cmd_source(struct ex *x, int argc, char **argv)
{
	struct grub_sim *sim = x->sim;
	struct grub_state *st = sim->st;
	bool configfile = !strcmp(argv[0], "configfile");
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	if (argc != 2)
		return GRUB_ERR_BAD_ARGUMENT;
	if (st->depth >= MAX_DEPTH)
		return err_set(-ELOOP, "%s:%u: sources nest deeper than %d", x->what, x->line,
			       MAX_DEPTH);
	rc = open_file(sim, argv[1], true, &data, &len);
	if (rc == 1)
		return 0; /* read_config_file fails; the error is ignored */
	if (rc < 0)
		return rc;
	if (strlen((char *)data) != len) {
		free(data);
		return err_set(-EINVAL, "%s: contains a NUL byte", argv[1]);
	}
	st->depth++;
	if (configfile) {
		struct menu *nm = calloc(1, sizeof(*nm));

		if (!nm || st->n_menus == MAX_DEPTH)
			rc = err_set(-E2BIG, "configfiles nest deeper than %d", MAX_DEPTH);
		else if ((rc = context_open(sim)) == 0) {
			st->menus[st->n_menus++] = nm;
			nm = NULL;
			rc = read_config(x, argv[1], (char *)data);
			if (rc == 0 && !st->booted && st->menus[st->n_menus - 1]->n)
				rc = show_menu(x, st->menus[st->n_menus - 1]);
			menu_free(st->menus[--st->n_menus]);
			context_close(sim);
		}
		free(nm);
	} else {
		rc = read_config(x, argv[1], (char *)data);
	}
	st->depth--;
	free(data);
	return rc;
}

static const struct command commands[] = {
	{"[", cmd_test},
	{"test", cmd_test},
	{"true", cmd_true},
	{"false", cmd_false},
	{"set", cmd_set},
	{"unset", cmd_unset},
	{"export", cmd_export},
	{"setparams", cmd_setparams},
	{"shift", cmd_shift},
	{"return", cmd_return},
	{"break", cmd_break},
	{"continue", cmd_break},
	{"insmod", cmd_insmod},
	{"search", cmd_search},
	{"search.file", cmd_search},
	{"search.fs_uuid", cmd_search},
	{"search.fs_label", cmd_search},
	{"search_fs_file", cmd_search},
	{"search_fs_uuid", cmd_search},
	{"search_label", cmd_search},
	{"echo", cmd_true},
	{"serial", cmd_true},
	{"terminal_input", cmd_true},
	{"terminal_output", cmd_true},
	{"terminfo", cmd_true},
	{"sleep", cmd_true},
	{"clear", cmd_true},
	{"loadfont", cmd_loadfont},
	{"load_env", cmd_load_env},
	{"save_env", cmd_save_env},
	{"source", cmd_source},
	{".", cmd_source},
	{"configfile", cmd_source},
	{"menuentry", cmd_menuentry},
	{"submenu", cmd_menuentry},
	{"linux", cmd_linux},
	{"linuxefi", cmd_linux},
	{"initrd", cmd_initrd},
	{"initrdefi", cmd_initrd},
	{"multiboot2", cmd_multiboot2},
	{"module2", cmd_multiboot2},
	{"boot", cmd_boot},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

/* ---- the public entry points ---- */

int grub_sim_run(struct grub_sim *sim, const char *text, const char *what)
{
	struct ex x = {.sim = sim, .what = what};

	if (!sim->st)
		return err_set(-EINVAL, "grub_sim_init was not called");
	return run_text(&x, text, what, 1, true);
}

int grub_sim_boot_default(struct grub_sim *sim)
{
	struct ex x = {.sim = sim, .what = "menu"};
	int rc;

	if (!sim->st)
		return err_set(-EINVAL, "grub_sim_init was not called");
	if (sim->st->booted)
		return 0;
	if (sim->entry && (rc = grub_sim_set(sim, "default", sim->entry)) < 0)
		return rc;
	return show_menu(&x, sim->st->menus[0]);
}

int grub_sim_pcrs(const struct grub_sim *sim, struct pcr_banks *ret)
{
	pcr_banks_init(ret);
	for (unsigned b = 0; b < sim->n_banks; b++)
		if (!pcr_banks_add(ret, sim->bank[b]))
			return err_set(-ENOSPC, "too many banks");
	for (size_t e = 0; e < sim->n_events; e++)
		for (unsigned b = 0; b < sim->n_banks; b++) {
			int rc = pcr_bank_extend(&ret->bank[b], sim->event[e].pcr,
						 sim->event[e].digest[b].value);

			if (rc < 0)
				return rc;
		}
	return 0;
}

/*
 * The preamble: what GRUB measures before grub.cfg runs, one per line -- a
 * file name (PCR 9), or "grub_cmd: COMMAND" for a command of an embedded
 * config (PCR 8), as a signed GRUB's own config runs them (learnt from a
 * boot's log: pcrpredict/README.md).
 */
static int run_preamble(struct grub_sim *sim, const char *path)
{
	uint8_t *text;
	size_t len;
	char *save = NULL;
	int rc = file_read_all(path, 1 << 20, &text, &len);

	if (rc < 0)
		return rc;
	for (char *line = strtok_r((char *)text, "\n", &save); line && rc == 0;
	     line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "grub_cmd: ", 10))
			rc = grub_sim_measure(sim, GRUB_PCR_STRING, line, line + 10,
					      strlen(line + 10));
		else if (line[0] && line[0] != '#')
			rc = grub_sim_measure_file(sim, line);
	free(text);
	return rc < 0 ? err_wrap(rc, "%s", path) : 0;
}

int grub_sim_predict(struct grub_sim *sim, const char *config, const char *config_name,
		     const char *preamble)
{
	uint8_t *cfg;
	size_t len;
	int rc;

	if (preamble && (rc = run_preamble(sim, preamble)) < 0)
		return rc;
	if ((rc = file_read_all(config, 1 << 20, &cfg, &len)) < 0)
		return rc;
	if (strlen((char *)cfg) != len)
		rc = err_set(-EINVAL, "%s: contains a NUL byte", config);
	/* normal.mod reads grub.cfg through the verifiers: the file itself is measured */
	if (rc == 0 && config_name && config_name[0])
		rc = grub_sim_measure(sim, GRUB_PCR_FILE, config_name, cfg, len);
	if (rc == 0) {
		struct ex x = {.sim = sim, .what = config};
		char name[PATH_MAX];

		snprintf(name, sizeof(name), "%s",
			 config_name && config_name[0] ? config_name : config);
		rc = read_config(&x, name, (char *)cfg);
	}
	if (rc == 0)
		rc = grub_sim_boot_default(sim);
	free(cfg);
	return rc;
}
