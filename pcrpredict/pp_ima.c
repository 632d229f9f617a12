// SPDX-License-Identifier: MIT
/*
 * pcrpredict ima: reference digests for every file of a root filesystem the
 * IMA policy would measure (a Keylime runtime policy, or our own JSON), and
 * boot_aggregate from PCR 0-9 values.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "eventlog_ima.h"
#include "fileio.h"
#include "hex.h"
#include "ima_policy.h"
#include "jsonw.h"
#include "mem.h"
#include "pcr_values.h"
#include "pcrpredict.h"

#define EXT4_SUPER_MAGIC 0xef53

struct ima_args {
	const char *rootfs, *policy_path, *output, *values;
	const struct hash_alg *ima_hash;
	uint32_t fsmagic;
	bool boot_aggregate;
};

struct file_ref {
	char *path; /* relative to the root, no leading '/' */
	uint8_t digest[DIGEST_MAX];
};

struct tree {
	size_t n, cap;
	struct file_ref *file;
	const struct ima_policy *pol;
	uint32_t fsmagic;
	size_t root_len;
	size_t next; /* work index for the hashing threads */
	const char *root;
	const struct hash_alg *alg;
	int rc;
	char err[512];
	pthread_mutex_t lock;
};

static struct tree *walk_tree; /* nftw has no context argument */

/* Not measured at run time: pseudo and tmpfs mount points of the running system. */
static bool excluded_dir(const char *rel)
{
	static const char *const dirs[] = {"proc", "sys", "dev", "run", "tmp"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (strcmp(rel, dirs[i]) == 0)
			return true;
	return false;
}

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct tree *t = walk_tree;
	const char *rel = path + t->root_len;

	(void)ftw;
	while (*rel == '/')
		rel++;
	if (flag == FTW_D && excluded_dir(rel))
		return FTW_SKIP_SUBTREE;
	if (flag == FTW_DNR || flag == FTW_NS) {
		err_set(-EACCES, "%s: cannot read", path);
		return FTW_STOP;
	}
	if (flag != FTW_F || !S_ISREG(st->st_mode))
		return FTW_CONTINUE;
	if (!ima_policy_measures(t->pol, rel, st->st_mode, st->st_uid, t->fsmagic))
		return FTW_CONTINUE;
	if (array_grow((void **)&t->file, &t->cap, t->n, sizeof(*t->file), 1024) < 0)
		return FTW_STOP;
	t->file[t->n].path = strdup(rel);
	if (!t->file[t->n].path)
		return FTW_STOP;
	t->n++;
	return FTW_CONTINUE;
}

static void *hash_worker(void *arg)
{
	struct tree *t = arg;
	char path[8192];

	for (;;) {
		size_t i = __atomic_fetch_add(&t->next, 1, __ATOMIC_RELAXED);
		int fd, rc;

		if (i >= t->n || __atomic_load_n(&t->rc, __ATOMIC_RELAXED))
			return NULL;
		snprintf(path, sizeof(path), "%s/%s", t->root, t->file[i].path);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		rc = fd < 0 ? err_set(-errno, "%s: %s", path, strerror(errno))
			    : digest_fd_multi(fd, &t->alg, 1,
					      (uint8_t(*)[DIGEST_MAX])t->file[i].digest, NULL,
					      NULL);
		if (fd >= 0)
			close(fd);
		if (rc < 0) {
			pthread_mutex_lock(&t->lock);
			if (!t->rc) {
				t->rc = rc;
				snprintf(t->err, sizeof(t->err), "%s", err_msg());
			}
			pthread_mutex_unlock(&t->lock);
			return NULL;
		}
	}
}

static int cmp_refs(const void *a, const void *b)
{
	return strcmp(((const struct file_ref *)a)->path, ((const struct file_ref *)b)->path);
}

static int hash_tree(struct tree *t)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = cpus < 1 ? 1 : cpus > 16 ? 16 : (unsigned)cpus;
	pthread_t tid[16];
	unsigned started = 0;

	walk_tree = t;
	t->root_len = strlen(t->root);
	if (nftw(t->root, visit, 64, FTW_PHYS | FTW_ACTIONRETVAL) != 0)
		return err_msg()[0] ? -EIO : err_set(-EIO, "%s: walking the tree failed", t->root);
	qsort(t->file, t->n, sizeof(*t->file), cmp_refs);
	pthread_mutex_init(&t->lock, NULL);
	for (; started < n - 1; started++)
		if (pthread_create(&tid[started], NULL, hash_worker, t) != 0)
			break;
	hash_worker(t);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&t->lock);
	return t->rc ? err_set(t->rc, "%s", t->err) : 0;
}

/* An ext4 image: copied out with debugfs (no mount needed) into a temporary directory. */
static int extract_image(const char *image, char *dir, size_t dir_size)
{
	char cmd[8400];
	uint8_t sb[2];
	int fd = open(image, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return err_set(-errno, "%s: %s", image, strerror(errno));
	rc = pread(fd, sb, 2, 1080) == 2 && sb[0] == 0x53 && sb[1] == 0xef;
	close(fd);
	if (!rc)
		return err_set(-EINVAL, "%s: neither a directory nor an ext2/3/4 image", image);
	snprintf(dir, dir_size, "/tmp/pcrpredict-ima.XXXXXX");
	if (!mkdtemp(dir))
		return err_set(-errno, "mkdtemp: %s", strerror(errno));
	snprintf(cmd, sizeof(cmd), "debugfs -R 'rdump / %s' '%s' >/dev/null 2>&1", dir, image);
	if (system(cmd) != 0)
		return err_set(-EIO, "%s: debugfs could not copy the files out", image);
	return 0;
}

static void print_keylime(const struct tree *t)
{
	struct jw j;

	jw_init(&j, stdout);
	jw_object_begin(&j);
	jw_key(&j, "meta");
	jw_object_begin(&j);
	jw_key(&j, "version");
	jw_uint(&j, 1);
	jw_key(&j, "generator");
	jw_string(&j, "pcrpredict ima");
	jw_object_end(&j);
	jw_key(&j, "release");
	jw_uint(&j, 0);
	jw_key(&j, "digests");
	jw_object_begin(&j);
	for (size_t i = 0; i < t->n; i++) {
		char key[4200];

		snprintf(key, sizeof(key), "/%s", t->file[i].path);
		jw_key(&j, key);
		jw_array_begin(&j);
		jw_hex(&j, t->file[i].digest, t->alg->size);
		jw_array_end(&j);
	}
	jw_object_end(&j);
	jw_key(&j, "excludes");
	jw_array_begin(&j);
	jw_array_end(&j);
	jw_key(&j, "keyrings");
	jw_object_begin(&j);
	jw_object_end(&j);
	jw_key(&j, "ima");
	jw_object_begin(&j);
	jw_key(&j, "ignored_keyrings");
	jw_array_begin(&j);
	jw_array_end(&j);
	jw_key(&j, "log_hash_alg");
	jw_string(&j, "sha1");
	jw_key(&j, "dm_policy");
	jw_null(&j);
	jw_object_end(&j);
	jw_key(&j, "ima-buf");
	jw_object_begin(&j);
	jw_object_end(&j);
	jw_key(&j, "verification-keys");
	jw_string(&j, "");
	jw_object_end(&j);
	jw_finish(&j);
}

static void print_refs(const struct tree *t, bool json)
{
	struct jw j;

	if (!json) {
		char hex[2 * DIGEST_MAX + 1];

		for (size_t i = 0; i < t->n; i++) {
			hex_encode(t->file[i].digest, t->alg->size, hex);
			printf("%s  /%s\n", hex, t->file[i].path);
		}
		return;
	}
	jw_init(&j, stdout);
	jw_object_begin(&j);
	jw_key(&j, "ima_hash");
	jw_string(&j, t->alg->name);
	jw_key(&j, "files");
	jw_object_begin(&j);
	for (size_t i = 0; i < t->n; i++) {
		char key[4200];

		snprintf(key, sizeof(key), "/%s", t->file[i].path);
		jw_key(&j, key);
		jw_hex(&j, t->file[i].digest, t->alg->size);
	}
	jw_object_end(&j);
	jw_object_end(&j);
	jw_finish(&j);
}

static int run_boot_aggregate(const struct ima_args *a, const struct pp_opts *opts)
{
	struct pcr_selection sel = {0};
	struct pcr_banks values;
	struct jw j;

	if (!a->values)
		return err_set(-EINVAL, "--boot-aggregate needs --values FILE (PCR 0-9)");
	for (unsigned b = 0; b < opts->n_banks; b++) {
		sel.bank[b].alg = opts->banks[b];
		sel.bank[b].mask = opts->banks[b]->size == 20 ? 0xff : 0x3ff;
	}
	sel.count = opts->n_banks;
	if (pcr_values_load(a->values, &sel, &values) < 0)
		return -EINVAL;
	if (opts->json) {
		jw_init(&j, stdout);
		jw_object_begin(&j);
	}
	for (unsigned b = 0; b < opts->n_banks; b++) {
		uint8_t agg[DIGEST_MAX];
		char hex[2 * DIGEST_MAX + 1];
		int rc = ima_boot_aggregate(pcr_banks_find(&values, opts->banks[b]), agg);

		if (rc < 0)
			return rc;
		hex_encode(agg, opts->banks[b]->size, hex);
		if (opts->json) {
			jw_key(&j, opts->banks[b]->name);
			jw_string(&j, hex);
		} else {
			printf("%s:%s boot_aggregate\n", opts->banks[b]->name, hex);
		}
	}
	if (opts->json) {
		jw_object_end(&j);
		jw_finish(&j);
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct ima_args *a)
{
	static const struct option longopts[] = {
		{"rootfs", required_argument, NULL, 'r'},
		{"policy", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{"ima-hash", required_argument, NULL, 'h'},
		{"fsmagic", required_argument, NULL, 'f'},
		{"boot-aggregate", no_argument, NULL, 'b'},
		{"values", required_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	int c;

	a->ima_hash = hash_alg_by_id(TPM_ALG_SHA256);
	a->fsmagic = EXT4_SUPER_MAGIC;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			a->rootfs = optarg;
			break;
		case 'p':
			a->policy_path = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "keylime") && strcmp(optarg, "json") &&
			    strcmp(optarg, "text"))
				return err_set(-EINVAL, "--output must be keylime, json or text");
			a->output = optarg;
			break;
		case 'h':
			a->ima_hash = hash_alg_by_name(optarg);
			if (!a->ima_hash)
				return err_set(-EINVAL, "--ima-hash: unknown hash \"%s\"", optarg);
			break;
		case 'f':
			a->fsmagic = (uint32_t)strtoul(optarg, NULL, 16);
			break;
		case 'b':
			a->boot_aggregate = true;
			break;
		case 'v':
			a->values = optarg;
			break;
		default:
			return err_set(-EINVAL, "unknown option");
		}
	}
	if (optind != argc)
		return err_set(-EINVAL, "unexpected argument \"%s\"", argv[optind]);
	if (!a->boot_aggregate && !a->rootfs)
		return err_set(-EINVAL,
			       "needs --rootfs DIR|IMAGE (or --boot-aggregate --values FILE)");
	return 0;
}

int pp_ima_run(int argc, char **argv, const struct pp_opts *opts)
{
	struct ima_args a = {0};
	struct ima_policy *pol = calloc(1, sizeof(*pol));
	struct tree t = {0};
	char tmp[64] = "";
	struct stat st;
	int rc;

	if (!pol)
		return err_set(-ENOMEM, "out of memory"), pp_fail("ima");
	rc = parse_args(argc, argv, &a);
	if (rc == 0 && a.boot_aggregate) {
		rc = run_boot_aggregate(&a, opts);
		free(pol);
		return rc < 0 ? pp_fail("ima") : PP_EXIT_OK;
	}
	if (rc == 0 && a.policy_path) {
		uint8_t *text;
		size_t len;

		rc = file_read_all(a.policy_path, 1 << 20, &text, &len);
		if (rc == 0) {
			rc = ima_policy_parse((char *)text, a.policy_path, pol);
			free(text);
		}
	} else if (rc == 0) {
		rc = ima_policy_parse(ima_tcb_policy, "built-in tcb policy", pol);
	}
	if (rc == 0 && stat(a.rootfs, &st) < 0)
		rc = err_set(-errno, "%s: %s", a.rootfs, strerror(errno));
	t.root = a.rootfs;
	if (rc == 0 && !S_ISDIR(st.st_mode)) {
		rc = extract_image(a.rootfs, tmp, sizeof(tmp));
		t.root = tmp;
	}
	t.pol = pol;
	t.fsmagic = a.fsmagic;
	t.alg = a.ima_hash;
	if (rc == 0)
		rc = hash_tree(&t);
	if (rc == 0) {
		const char *out = a.output ? a.output : opts->json ? "json" : "text";

		if (strcmp(out, "keylime") == 0)
			print_keylime(&t);
		else
			print_refs(&t, strcmp(out, "json") == 0);
	}
	if (tmp[0]) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			log_warn("could not remove %s", tmp);
	}
	for (size_t i = 0; i < t.n; i++)
		free(t.file[i].path);
	free(t.file);
	free(pol);
	return rc < 0 ? pp_fail("ima") : PP_EXIT_OK;
}
