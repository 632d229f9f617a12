/* SPDX-License-Identifier: MIT */
/*
 * What GRUB 2.06's `tpm` module measures for a grub.cfg: a small interpreter
 * for the part of GRUB script that our boot configurations use, producing
 * the PCR 8 (strings) and PCR 9 (files) events in order.
 *
 * Modelled: comments, quoting ('', "", \), $var and ${var}, `;` and
 * newlines, menuentry blocks and `set default`, and the commands set, unset,
 * export, insmod, search*, echo, serial, terminal_*, linux/linuxefi,
 * initrd/initrdefi, multiboot2, module2, boot.  Anything else (if, for,
 * functions, submenus, other commands) is refused with the line number.
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
};

struct grub_entry {
	char *title;
	char *body; /* the block's source */
	unsigned line;
};

struct grub_sim {
	/* set by the caller */
	unsigned n_banks;
	const struct hash_alg *bank[PCR_BANKS_MAX];
	const char *root_dir;	   /* files of devices other than memdisk */
	const char *memdisk_dir;   /* files of (memdisk); NULL: same as root_dir */
	const char *search_result; /* what search --set=VAR stores ("hd0") */
	const char *preloaded;	   /* modules built into the image, space-separated */
	/* state */
	size_t n_vars, n_events, n_entries;
	struct grub_var *var;
	struct grub_event *event;
	struct grub_entry *entry;
	unsigned depth; /* nesting of executed entries */
	char *loaded;	/* " mod mod " loaded so far */
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

/* Runs a script as normal.mod runs grub.cfg (top level: entries are only defined). */
int grub_sim_run(struct grub_sim *sim, const char *text, const char *what);
/* Boots the default entry as the menu does when its timeout expires. */
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
