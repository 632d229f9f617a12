// SPDX-License-Identifier: MIT
/* IMA reference digests of a tree or ext4 image, hashed on all cores. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "ima_ref.h"
#include "mem.h"

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

int ima_ref_build(const char *rootfs, const char *policy_path, const struct hash_alg *alg,
		  uint32_t fsmagic, struct ima_ref *ret)
{
	struct ima_policy *pol = calloc(1, sizeof(*pol));
	struct tree t = {0};
	char tmp[64] = "";
	struct stat st;
	int rc = pol ? 0 : err_set(-ENOMEM, "out of memory");

	if (rc == 0 && policy_path) {
		uint8_t *text;
		size_t len;

		rc = file_read_all(policy_path, 1 << 20, &text, &len);
		if (rc == 0) {
			rc = ima_policy_parse((char *)text, policy_path, pol);
			free(text);
		}
	} else if (rc == 0) {
		rc = ima_policy_parse(ima_tcb_policy, "built-in tcb policy", pol);
	}
	if (rc == 0 && stat(rootfs, &st) < 0)
		rc = err_set(-errno, "%s: %s", rootfs, strerror(errno));
	t.root = rootfs;
	if (rc == 0 && !S_ISDIR(st.st_mode)) {
		rc = extract_image(rootfs, tmp, sizeof(tmp));
		t.root = tmp;
	}
	t.pol = pol;
	t.fsmagic = fsmagic;
	t.alg = alg;
	if (rc == 0)
		rc = hash_tree(&t);
	if (tmp[0]) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			log_warn("could not remove %s", tmp);
	}
	free(pol);
	if (rc < 0) {
		struct ima_ref partial = {alg, t.n, t.file};

		ima_ref_free(&partial);
		return rc;
	}
	*ret = (struct ima_ref){alg, t.n, t.file};
	return 0;
}

void ima_ref_free(struct ima_ref *ref)
{
	for (size_t i = 0; i < ref->n; i++)
		free(ref->file[i].path);
	free(ref->file);
	ref->file = NULL;
	ref->n = 0;
}
