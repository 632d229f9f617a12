// SPDX-License-Identifier: MIT
/*
 * A GRUB script interpreter that does nothing but measure, as the tpm
 * verifier of GRUB 2.06 does: every command line after expansion into PCR 8
 * ("grub_cmd: "), loader command lines ("kernel_cmdline: ",
 * "module_cmdline: "), and every file a command opens into PCR 9.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "grub_script.h"
#include "mem.h"

#define MAX_WORD     4096
#define MAX_ARGS     256
#define MAX_VARS     256
#define MAX_ENTRIES  64
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

int grub_sim_init(struct grub_sim *sim)
{
	int rc = 0;

	sim->n_vars = sim->n_events = sim->n_entries = 0;
	sim->var = NULL;
	sim->event = NULL;
	sim->entry = NULL;
	sim->depth = 0;
	sim->loaded = NULL;
	sim->loaded_len = sim->loaded_cap = 0;
	if (!sim->search_result)
		sim->search_result = "hd0";
	if (!sim->preloaded)
		sim->preloaded = "";
	if (rc == 0)
		rc = grub_sim_set(sim, "root", "memdisk");
	if (rc == 0)
		rc = grub_sim_set(sim, "prefix", "(memdisk)/boot/grub");
	if (rc == 0)
		rc = grub_sim_set(sim, "grub_platform", "efi");
	if (rc == 0)
		rc = grub_sim_set(sim, "grub_cpu", "x86_64");
	return rc;
}

void grub_sim_free(struct grub_sim *sim)
{
	for (size_t i = 0; i < sim->n_vars; i++) {
		free(sim->var[i].name);
		free(sim->var[i].value);
	}
	for (size_t i = 0; i < sim->n_events; i++)
		free(sim->event[i].description);
	for (size_t i = 0; i < sim->n_entries; i++) {
		free(sim->entry[i].title);
		free(sim->entry[i].body);
	}
	free(sim->var);
	free(sim->event);
	free(sim->entry);
	free(sim->loaded);
	sim->loaded = NULL;
	sim->var = NULL;
	sim->event = NULL;
	sim->entry = NULL;
	sim->n_vars = sim->n_events = sim->n_entries = 0;
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

int grub_sim_measure_file(struct grub_sim *sim, const char *grub_path)
{
	char local[PATH_MAX];
	uint8_t *data;
	size_t len;
	int rc = map_path(sim, grub_path, local, sizeof(local));

	if (rc < 0)
		return rc;
	rc = file_read_all(local, FILE_MAX, &data, &len);
	if (rc < 0)
		return err_wrap(rc, "file \"%s\" GRUB would load", grub_path);
	rc = grub_sim_measure(sim, GRUB_PCR_FILE, grub_path, data, len);
	free(data);
	return rc;
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

/* ---- commands ---- */

struct ctx {
	struct grub_sim *sim;
	const char *what;
	unsigned line;
};

static bool word_in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list ? strstr(list, word) : NULL; p; p = strstr(p + 1, word))
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static bool module_loaded(struct ctx *c, const char *name)
{
	return word_in_list(c->sim->loaded, name);
}

static int mark_loaded(struct ctx *c, const char *name)
{
	struct sbuf b = {c->sim->loaded, c->sim->loaded_len, c->sim->loaded_cap};
	int rc = sbuf_puts(&b, " ");

	if (rc == 0)
		rc = sbuf_puts(&b, name);
	c->sim->loaded = b.p;
	c->sim->loaded_len = b.len;
	c->sim->loaded_cap = b.cap;
	return rc;
}

static int load_module(struct ctx *c, const char *name, unsigned depth);

/* Dependencies from $prefix/x86_64-efi/moddep.lst ("mod: dep dep"), when it is there. */
static int load_dependencies(struct ctx *c, const char *name, unsigned depth)
{
	char grub_path[512], local[PATH_MAX], key[300];
	uint8_t *lst;
	size_t len;
	int rc = 0;

	snprintf(grub_path, sizeof(grub_path), "%s/" GRUB_MOD_DIR "/moddep.lst",
		 grub_sim_get(c->sim, "prefix") ?: "");
	if (map_path(c->sim, grub_path, local, sizeof(local)) < 0 ||
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
		for (char *d = strtok_r(deps, " ", &save); d && rc == 0;
		     d = strtok_r(NULL, " ", &save))
			rc = load_module(c, d, depth + 1);
		break;
	}
	free(lst);
	return rc;
}

/* grub_dl_load: read the .mod (measured), then its dependencies. */
static int load_module(struct ctx *c, const char *name, unsigned depth)
{
	char grub_path[512];
	int rc;

	if (depth > 16)
		return err_set(-ELOOP, "module dependencies nest too deep at %s", name);
	if (module_loaded(c, name))
		return 0;
	if ((rc = mark_loaded(c, name)) < 0)
		return rc;
	snprintf(grub_path, sizeof(grub_path), "%s/" GRUB_MOD_DIR "/%s.mod",
		 grub_sim_get(c->sim, "prefix") ?: "", name);
	rc = grub_sim_measure_file(c->sim, grub_path);
	return rc == 0 ? load_dependencies(c, name, depth) : rc;
}

static int cmd_set(struct ctx *c, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		int rc;

		if (!eq)
			continue; /* "set name" prints it */
		*eq = '\0';
		rc = grub_sim_set(c->sim, argv[i], eq + 1);
		*eq = '=';
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * search --file opens PATH on each device until it finds it: that open is
 * measured, "(DEV)PATH" for the device found (search_result).  --set=VAR
 * stores the device.
 */
static int cmd_search(struct ctx *c, int argc, char **argv)
{
	const char *var = NULL, *key = NULL;
	bool by_file =
		strcmp(argv[0], "search.file") == 0 || strcmp(argv[0], "search_fs_file") == 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--set=", 6) == 0)
			var = argv[i] + 6;
		else if (strcmp(argv[i], "--set") == 0 || strcmp(argv[i], "-s") == 0)
			var = i + 2 < argc ? argv[++i] : "root";
		else if (strcmp(argv[i], "--file") == 0 || strcmp(argv[i], "-f") == 0)
			by_file = true;
		else if (argv[i][0] != '-')
			key = argv[i];
	}
	if (by_file && key) {
		char path[4200];

		snprintf(path, sizeof(path), "(%s)%s", c->sim->search_result, key);
		rc = grub_sim_measure_file(c->sim, path);
	}
	if (rc == 0 && var)
		rc = grub_sim_set(c->sim, var, c->sim->search_result);
	return rc;
}

static int cmd_linux(struct ctx *c, int argc, char **argv)
{
	int rc;

	if (argc < 2)
		return err_set(-EINVAL, "%s:%u: %s needs a kernel", c->what, c->line, argv[0]);
	rc = grub_sim_measure_file(c->sim, argv[1]);
	/* the kernel path is part of the command line ("BOOT_IMAGE=" is not measured) */
	return rc == 0 ? measure_cmdline(c->sim, "kernel_cmdline: ", argc - 1, argv + 1) : rc;
}

static int cmd_initrd(struct ctx *c, int argc, char **argv)
{
	int rc = 0;

	for (int i = 1; i < argc && rc == 0; i++)
		if (strncmp(argv[i], "--", 2) != 0)
			rc = grub_sim_measure_file(c->sim, argv[i]);
	return rc;
}

static int cmd_multiboot2(struct ctx *c, int argc, char **argv)
{
	bool module = strcmp(argv[0], "module2") == 0;
	int i = 1, rc;

	while (i < argc && strncmp(argv[i], "--", 2) == 0) /* --quirk-*, --nounzip */
		i++;
	if (i >= argc)
		return err_set(-EINVAL, "%s:%u: %s needs a file", c->what, c->line, argv[0]);
	rc = grub_sim_measure_file(c->sim, argv[i]);
	if (rc < 0)
		return rc;
	return measure_cmdline(c->sim,
			       module ? "module_cmdline: " : "kernel_cmdline: ", argc - i - 1,
			       argv + i + 1);
}

static int cmd_insmod(struct ctx *c, int argc, char **argv)
{
	if (argc < 2)
		return err_set(-EINVAL, "%s:%u: insmod needs a module", c->what, c->line);
	if (word_in_list(c->sim->preloaded, argv[1]))
		return 0; /* built into the image: insmod reads no file */
	return load_module(c, argv[1], 0);
}

static int cmd_nothing(struct ctx *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	return 0;
}

static int cmd_unset(struct ctx *c, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		grub_sim_unset(c->sim, argv[i]);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct ctx *c, int argc, char **argv);
} commands[] = {
	{"set", cmd_set},
	{"unset", cmd_unset},
	{"export", cmd_nothing},
	{"insmod", cmd_insmod},
	{"search", cmd_search},
	{"search.file", cmd_search},
	{"search.fs_uuid", cmd_search},
	{"search.fs_label", cmd_search},
	{"search_fs_file", cmd_search},
	{"search_fs_uuid", cmd_search},
	{"search_label", cmd_search},
	{"echo", cmd_nothing},
	{"serial", cmd_nothing},
	{"terminal_input", cmd_nothing},
	{"terminal_output", cmd_nothing},
	{"terminfo", cmd_nothing},
	{"true", cmd_nothing},
	{"sleep", cmd_nothing},
	{"linux", cmd_linux},
	{"linuxefi", cmd_linux},
	{"initrd", cmd_initrd},
	{"initrdefi", cmd_initrd},
	{"multiboot2", cmd_multiboot2},
	{"module2", cmd_multiboot2},
	{"boot", cmd_nothing},
};

static int execute(struct ctx *c, int argc, char **argv)
{
	struct sbuf line = {0}, desc = {0};
	int rc = 0;

	/* measured before it is looked up: assignments and unknown words too */
	for (int i = 0; i < argc && rc == 0; i++) {
		if (i)
			rc = sbuf_putc(&line, ' ');
		if (rc == 0)
			rc = sbuf_puts(&line, argv[i]);
	}
	if (rc == 0)
		rc = sbuf_puts(&desc, "grub_cmd: ");
	if (rc == 0)
		rc = sbuf_puts(&desc, line.p);
	if (rc == 0)
		rc = grub_sim_measure(c->sim, GRUB_PCR_STRING, desc.p, line.p, line.len);
	free(line.p);
	free(desc.p);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			return commands[i].run(c, argc, argv);
	if (strchr(argv[0], '=') && argv[0][0] != '=') {
		char *eq = strchr(argv[0], '=');

		*eq = '\0';
		rc = grub_sim_set(c->sim, argv[0], eq + 1);
		*eq = '=';
		return rc;
	}
	return err_set(-ENOTSUP, "%s:%u: command \"%s\" is not modelled (see pcrpredict/README.md)",
		       c->what, c->line, argv[0]);
}

/* ---- lexer ---- */

struct lexer {
	const char *p, *end;
	unsigned line;
};

struct words {
	int argc;
	char *argv[MAX_ARGS];
	struct sbuf cur;
	bool started;
};

static void words_free(struct words *w)
{
	for (int i = 0; i < w->argc; i++)
		free(w->argv[i]);
	free(w->cur.p);
	memset(w, 0, sizeof(*w));
}

static int word_end(struct words *w, struct ctx *c)
{
	if (!w->started)
		return 0;
	if (w->argc == MAX_ARGS)
		return err_set(-E2BIG, "%s:%u: more than %d words", c->what, c->line, MAX_ARGS);
	w->argv[w->argc++] = w->cur.p ? w->cur.p : strdup("");
	if (!w->argv[w->argc - 1])
		return err_set(-ENOMEM, "out of memory");
	memset(&w->cur, 0, sizeof(w->cur));
	w->started = false;
	return 0;
}

static int word_putc(struct words *w, struct ctx *c, char ch)
{
	w->started = true;
	if (w->cur.len >= MAX_WORD)
		return err_set(-E2BIG, "%s:%u: word longer than %d", c->what, c->line, MAX_WORD);
	return sbuf_putc(&w->cur, ch);
}

static bool is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

/* $name or ${name}; unquoted values are split into words at blanks, as GRUB does. */
static int expand_var(struct lexer *lx, struct words *w, struct ctx *c, bool quoted)
{
	char name[128];
	size_t n = 0;
	const char *value;
	int rc = 0;

	lx->p++; /* '$' */
	if (lx->p < lx->end && *lx->p == '{') {
		lx->p++;
		while (lx->p < lx->end && *lx->p != '}' && n + 1 < sizeof(name))
			name[n++] = *lx->p++;
		if (lx->p >= lx->end || *lx->p != '}')
			return err_set(-EINVAL, "%s:%u: unterminated ${", c->what, lx->line);
		lx->p++;
	} else {
		while (lx->p < lx->end && is_name_char(*lx->p) && n + 1 < sizeof(name))
			name[n++] = *lx->p++;
		if (n == 0 && lx->p < lx->end && (*lx->p == '?' || *lx->p == '#'))
			name[n++] = *lx->p++;
	}
	name[n] = '\0';
	if (n == 0)
		return word_putc(w, c, '$');
	value = grub_sim_get(c->sim, name);
	for (const char *v = value ? value : ""; *v && rc == 0; v++) {
		if (!quoted && (*v == ' ' || *v == '\t'))
			rc = word_end(w, c);
		else
			rc = word_putc(w, c, *v);
	}
	if (quoted)
		w->started = true;
	return rc;
}

/*
 * Reads one simple command into @w: stops after an unquoted newline or ';'
 * (returns 1), or at the end (returns 0 with w->argc possibly > 0).
 */
static int read_command(struct lexer *lx, struct words *w, struct ctx *c)
{
	int rc = 0;

	while (lx->p < lx->end && rc == 0) {
		char ch = *lx->p;

		c->line = lx->line;
		if (ch == '\n' || ch == ';') {
			lx->p++;
			if (ch == '\n')
				lx->line++;
			rc = word_end(w, c);
			if (rc == 0 && (w->argc || ch == ';'))
				return 1;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r') {
			lx->p++;
			rc = word_end(w, c);
		} else if (ch == '#' && !w->started) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (ch == '\\') {
			lx->p++;
			if (lx->p < lx->end && *lx->p == '\n') {
				lx->p++;
				lx->line++;
			} else if (lx->p < lx->end) {
				rc = word_putc(w, c, *lx->p++);
			}
		} else if (ch == '\'') {
			const char *close = memchr(lx->p + 1, '\'', (size_t)(lx->end - lx->p - 1));

			if (!close)
				return err_set(-EINVAL, "%s:%u: unterminated '", c->what, lx->line);
			w->started = true;
			for (const char *q = lx->p + 1; q < close && rc == 0; q++) {
				lx->line += *q == '\n';
				rc = word_putc(w, c, *q);
			}
			lx->p = close + 1;
		} else if (ch == '"') {
			lx->p++;
			w->started = true;
			while (rc == 0 && lx->p < lx->end && *lx->p != '"') {
				if (*lx->p == '\\' && lx->p + 1 < lx->end &&
				    strchr("\\\"$\n", lx->p[1])) {
					lx->p++;
					if (*lx->p == '\n') {
						lx->line++;
						lx->p++;
						continue;
					}
					rc = word_putc(w, c, *lx->p++);
				} else if (*lx->p == '$') {
					rc = expand_var(lx, w, c, true);
				} else {
					lx->line += *lx->p == '\n';
					rc = word_putc(w, c, *lx->p++);
				}
			}
			if (rc == 0 && lx->p >= lx->end)
				return err_set(-EINVAL, "%s:%u: unterminated \"", c->what,
					       lx->line);
			lx->p++;
		} else if (ch == '$') {
			rc = expand_var(lx, w, c, false);
		} else if (ch == '{' && !w->started) {
			/* a block opens: the command ends here, the block's text follows as is */
			lx->p++;
			rc = word_putc(w, c, ch);
			if (rc == 0)
				rc = word_end(w, c);
			return rc < 0 ? rc : 1;
		} else if (ch == '}' && !w->started) {
			lx->p++;
			rc = word_putc(w, c, ch);
			if (rc == 0)
				rc = word_end(w, c);
		} else {
			lx->p++;
			rc = word_putc(w, c, ch);
		}
	}
	if (rc < 0)
		return rc;
	rc = word_end(w, c);
	return rc < 0 ? rc : 0;
}

/* After "menuentry TITLE ... {": the raw body up to the matching '}'. */
static int read_block(struct lexer *lx, struct ctx *c, char **ret)
{
	const char *start = lx->p;
	unsigned depth = 1;
	char quote = 0;

	for (; lx->p < lx->end; lx->p++) {
		char ch = *lx->p;

		if (ch == '\n')
			lx->line++;
		if (quote) {
			if (ch == '\\' && quote == '"' && lx->p + 1 < lx->end)
				lx->p++;
			else if (ch == quote)
				quote = 0;
			continue;
		}
		if (ch == '\\' && lx->p + 1 < lx->end) {
			lx->p++;
		} else if (ch == '\'' || ch == '"') {
			quote = ch;
		} else if (ch == '#') {
			while (lx->p + 1 < lx->end && lx->p[1] != '\n')
				lx->p++;
		} else if (ch == '{') {
			depth++;
		} else if (ch == '}' && --depth == 0) {
			*ret = strndup(start, (size_t)(lx->p - start));
			lx->p++;
			return *ret ? 0 : err_set(-ENOMEM, "out of memory");
		}
	}
	return err_set(-EINVAL, "%s:%u: menuentry block is not closed", c->what, c->line);
}

/* menuentry's options that take an argument, and those that do not */
static const char *const entry_opts_arg[] = {"--class", "--users", "--hotkey", "--id", "--source"};

static int define_entry(struct lexer *lx, struct words *w, struct ctx *c)
{
	struct grub_sim *sim = c->sim;
	size_t cap = sim->n_entries;
	struct sbuf line = {0}, desc = {0}, params = {0};
	struct grub_entry *e;
	unsigned start = c->line;
	char *body = NULL;
	int rc;

	if (w->argc < 3 || strcmp(w->argv[w->argc - 1], "{") != 0)
		return err_set(-EINVAL, "%s:%u: menuentry needs a title and a { block", c->what,
			       c->line);
	if (sim->depth > 0)
		return err_set(-ENOTSUP, "%s:%u: menuentry inside an entry is not modelled",
			       c->what, c->line);
	if (sim->n_entries == MAX_ENTRIES)
		return err_set(-E2BIG, "%s:%u: more than %d entries", c->what, c->line,
			       MAX_ENTRIES);
	if ((rc = read_block(lx, c, &body)) < 0)
		return rc;
	/* GRUB measures the definition as one command: its words, then "{" body "}" */
	for (int i = 0; i < w->argc - 1 && rc == 0; i++) {
		rc = sbuf_puts(&line, w->argv[i]);
		if (rc == 0)
			rc = sbuf_putc(&line, ' ');
	}
	if (rc == 0 && (rc = sbuf_putc(&line, '{')) == 0 && (rc = sbuf_puts(&line, body)) == 0)
		rc = sbuf_putc(&line, '}');
	if (rc == 0 && (rc = sbuf_puts(&desc, "grub_cmd: ")) == 0 &&
	    (rc = sbuf_puts(&desc, line.p)) == 0)
		rc = grub_sim_measure(sim, GRUB_PCR_STRING, desc.p, line.p, line.len);
	/* the entry runs as "setparams TITLE [ARGS]" followed by its body */
	for (int i = 1; i < w->argc - 1 && rc == 0; i++) {
		bool skip = false;

		for (size_t k = 0; k < sizeof(entry_opts_arg) / sizeof(entry_opts_arg[0]); k++)
			if (strcmp(w->argv[i], entry_opts_arg[k]) == 0)
				skip = true, i++;
		if (skip || strcmp(w->argv[i], "--unrestricted") == 0)
			continue;
		rc = sbuf_puts(&params, params.len ? " " : "");
		if (rc == 0)
			rc = sbuf_puts(&params, w->argv[i]);
	}
	if (rc == 0)
		rc = array_grow((void **)&sim->entry, &cap, sim->n_entries, sizeof(*e), 1);
	if (rc == 0) {
		e = &sim->entry[sim->n_entries];
		memset(e, 0, sizeof(*e));
		e->line = start;
		e->body = body;
		e->title = params.p ? params.p : strdup("");
		body = NULL;
		params.p = NULL;
		if (!e->title)
			rc = err_set(-ENOMEM, "out of memory");
		else
			sim->n_entries++;
	}
	free(body);
	free(params.p);
	free(line.p);
	free(desc.p);
	return rc;
}

static const char *const unmodelled_keywords[] = {"if",	  "then",     "else",	 "elif", "fi",
						  "for",  "while",    "until",	 "do",	 "done",
						  "case", "function", "submenu", "{",	 "}"};

static int run(struct grub_sim *sim, const char *text, const char *what, unsigned first_line)
{
	struct lexer lx = {text, text + strlen(text), first_line};
	struct ctx c = {.sim = sim, .what = what, .line = first_line};
	int rc = 0;

	while (rc == 0 && lx.p < lx.end) {
		struct words w = {0};

		rc = read_command(&lx, &w, &c);
		if (rc >= 0 && w.argc > 0) {
			rc = 0;
			for (size_t k = 0; k < sizeof(unmodelled_keywords) / sizeof(char *); k++)
				if (strcmp(w.argv[0], unmodelled_keywords[k]) == 0)
					rc = err_set(-ENOTSUP, "%s:%u: \"%s\" is not modelled",
						     what, c.line, w.argv[0]);
			if (rc == 0 && strcmp(w.argv[0], "menuentry") == 0)
				rc = define_entry(&lx, &w, &c);
			else if (rc == 0)
				rc = execute(&c, w.argc, w.argv);
		}
		rc = rc > 0 ? 0 : rc;
		words_free(&w);
	}
	return rc;
}

int grub_sim_run(struct grub_sim *sim, const char *text, const char *what)
{
	return run(sim, text, what, 1);
}

int grub_sim_boot_default(struct grub_sim *sim)
{
	const char *def = grub_sim_get(sim, "default");
	size_t idx = 0;
	char what[300];
	int rc;

	if (sim->n_entries == 0)
		return err_set(-ENOENT, "the configuration defines no menuentry to boot");
	if (def && *def) {
		char *end;
		unsigned long n = strtoul(def, &end, 10);

		if (*end == '\0') {
			idx = n;
		} else {
			for (idx = 0; idx < sim->n_entries; idx++)
				if (strcmp(sim->entry[idx].title, def) == 0)
					break;
		}
		if (idx >= sim->n_entries)
			return err_set(-ENOENT, "default=\"%s\" names no menuentry", def);
	}
	snprintf(what, sizeof(what), "menuentry \"%.200s\"", sim->entry[idx].title);
	sim->depth++;
	/* the menu runs the entry as "setparams TITLE" + its block */
	char *setparams = NULL, *desc = NULL;
	if (asprintf(&setparams, "setparams %s", sim->entry[idx].title) < 0 ||
	    asprintf(&desc, "grub_cmd: %s", setparams) < 0)
		rc = err_set(-ENOMEM, "out of memory");
	else
		rc = grub_sim_measure(sim, GRUB_PCR_STRING, desc, setparams, strlen(setparams));
	free(setparams);
	free(desc);
	if (rc == 0)
		rc = run(sim, sim->entry[idx].body, what, sim->entry[idx].line);
	sim->depth--;
	return rc;
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
	if (rc == 0)
		rc = grub_sim_run(sim, (char *)cfg, config);
	if (rc == 0)
		rc = grub_sim_boot_default(sim);
	free(cfg);
	return rc;
}
