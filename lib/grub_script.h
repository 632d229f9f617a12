/* SPDX-License-Identifier: MIT */
/*
 * What GRUB 2.06's `tpm` module measures for a grub.cfg: an interpreter of
 * GRUB's script language (grub-core/script: its lexer, grammar and
 * execute.c) that runs nothing but the measurements, producing the PCR 8
 * (strings) and PCR 9 (files) events in order.
 *
 * The whole grammar of GRUB 2.06: words with '', "", \, $var, ${var}, $1..,
 * $#, $*, $@ and GRUB's word splitting; `;` and newlines; if/elif/else/fi,
 * for/in/do/done, while and until, functions; `{ }` blocks of menuentry and
 * submenu.  A syntax error (and | & < > && ||, which GRUB's lexer knows but
 * its grammar does not) names the file and line.  Commands: [ / test,
 * true, false, set, unset, export, setparams, shift, return, break,
 * continue, insmod, search*, echo, serial, terminal_*, terminfo, sleep,
 * loadfont, load_env, save_env, source, ., configfile, menuentry, submenu,
 * linux/linuxefi, initrd/initrdefi, multiboot2, module2, boot.  Any other
 * command that runs is refused with its name and line.  The menu picks the
 * default entry as normal.mod does (index, title, id, "a>b" paths).
 */
#ifndef MEASURED_GRUB_SCRIPT_H
#define MEASURED_GRUB_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "pcr.h"

#define GRUB_PCR_STRING 8
#define GRUB_PCR_FILE	9

/* Modules our boot image builds into GRUB (boot/README.md): insmod of these reads no file. */
#define GRUB_DEFAULT_PRELOADED                                                                    \
	"tpm part_gpt part_msdos fat linux linuxefi multiboot2 gzio chain search search_fs_file " \
	"echo "                                                                                   \
	"normal"

struct grub_event {
	unsigned pcr;
	char *description; /* what the firmware log's event data holds (without the NUL) */
	struct alg_digest digest[PCR_BANKS_MAX];
};

struct grub_var {
	char *name, *value;
	int exported;
};

struct grub_sim {
	/* set by the caller */
	unsigned n_banks;
	const struct hash_alg *bank[PCR_BANKS_MAX];
	const char *root_dir;	   /* files of devices other than memdisk */
	const char *memdisk_dir;   /* files of (memdisk); NULL: same as root_dir */
	const char *search_result; /* what search --set=VAR stores ("hd0") */
	const char *preloaded;	   /* modules built into the image, space-separated */
	const char *fs_uuid;	   /* what search --fs-uuid finds (NULL: any) */
	const char *fs_label;	   /* what search --label finds (NULL: any) */
	const char *env_file;  /* local file read for GRUB's $prefix/grubenv (NULL: root_dir's) */
	const char *entry;     /* boot this entry instead of $default (--entry) */
	struct grub_state *st; /* the interpreter's own state */
	/* state */
	size_t n_vars, n_events;
	struct grub_var *var;
	struct grub_event *event;
	char *loaded; /* " mod mod " loaded so far */
	size_t loaded_len, loaded_cap;
};

/* Initial variables of an EFI standalone image: root=memdisk, prefix=(memdisk)/boot/grub. */
int grub_sim_init(struct grub_sim *sim);
void grub_sim_free(struct grub_sim *sim);
int grub_sim_set(struct grub_sim *sim, const char *name, const char *value);
const char *grub_sim_get(const struct grub_sim *sim, const char *name);

/* Appends an event measuring @data (a string: its bytes, no NUL). */
int grub_sim_measure(struct grub_sim *sim, unsigned pcr, const char *description, const void *data,
		     size_t len);
/* Appends a PCR 9 event for the file GRUB calls @grub_path, read from the mapped local file. */
int grub_sim_measure_file(struct grub_sim *sim, const char *grub_path);

/*
 * Runs a script as normal.mod runs grub.cfg (read_config_file: lines that
 * begin with '#' are dropped, CRs removed; entries are only defined).
 * Returns 0, or a negative code with the cause: a syntax error or an
 * unmodelled command ("WHAT:LINE: ..."), a limit, a file that cannot be read.
 */
int grub_sim_run(struct grub_sim *sim, const char *text, const char *what);
/* Boots the default entry (or sim->entry) as the menu does when its timeout expires. */
int grub_sim_boot_default(struct grub_sim *sim);

/*
 * The whole prediction: files of @preamble (GRUB names, one per line;
 * may be NULL) measured first, then grub.cfg itself as @config_name (unless
 * NULL or empty), its top level, and the default entry.
 */
int grub_sim_predict(struct grub_sim *sim, const char *config, const char *config_name,
		     const char *preamble);

/* Replays the events into fresh banks. */
int grub_sim_pcrs(const struct grub_sim *sim, struct pcr_banks *ret);

#endif
