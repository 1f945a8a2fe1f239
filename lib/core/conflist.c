// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Chaining podwall-cni into a CNI conflist: see conflist.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cni.h"
#include "conflist.h"
#include "fileio.h"

/* Parse and check a conflist; *plugins is borrowed from *root. */
static int conflist_load(const char *in, json_t **root, json_t **plugins, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *r, *p;
	size_t i;

	r = json_loads(in, JSON_REJECT_DUPLICATES, &jerr);
	if (!r) {
		snprintf(err, errlen, "not valid JSON: %s (line %d, column %d)", jerr.text,
			 jerr.line, jerr.column);
		return -EINVAL;
	}
	if (!json_is_object(r)) {
		snprintf(err, errlen, "not a JSON object");
		goto cleanup;
	}
	p = json_object_get(r, "plugins");
	if (!json_is_array(p) || !json_array_size(p)) {
		snprintf(err, errlen, "plugins: %s; is this a .conflist?",
			 p ? "not a non-empty array" : "missing");
		goto cleanup;
	}
	for (i = 0; i < json_array_size(p); i++) {
		if (!json_is_string(json_object_get(json_array_get(p, i), "type"))) {
			snprintf(err, errlen, "plugins[%zu]: not an object with a string \"type\"",
				 i);
			goto cleanup;
		}
	}
	*root = r;
	*plugins = p;
	return 0;
cleanup:
	json_decref(r);
	return -EINVAL;
}

static bool is_podwall(const json_t *plugin)
{
	const char *type = json_string_value(json_object_get(plugin, "type"));

	return type && !strcmp(type, PW_CNI_TYPE);
}

static int conflist_dump(const json_t *root, char **out, char *err, size_t errlen)
{
	char *s = json_dumps(root, JSON_INDENT(2)), *line;
	size_t n;

	if (!s)
		goto nomem;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		goto nomem;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*out = line;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

int pw_conflist_chain_sock(const char *in_json, const char *socket, char **out_json, char *err,
			   size_t errlen)
{
	json_t *root = NULL, *plugins, *entry = NULL;
	size_t i;
	int ret;

	*out_json = NULL;
	if (socket && (socket[0] != '/' || strlen(socket) >= 108)) {
		snprintf(err, errlen, "socket: must be an absolute path shorter than 108 bytes");
		return -EINVAL;
	}
	ret = conflist_load(in_json, &root, &plugins, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < json_array_size(plugins) && !entry; i++)
		if (is_podwall(json_array_get(plugins, i)))
			entry = json_array_get(plugins, i);
	ret = -ENOMEM;
	if (!entry) {
		entry = json_pack("{s:s}", "type", PW_CNI_TYPE);
		if (!entry || json_array_append_new(plugins, entry))
			goto nomem;
	}
	if (socket) {
		if (json_object_set_new(entry, "socket", json_string(socket)))
			goto nomem;
	} else {
		json_object_del(entry, "socket");
	}
	ret = conflist_dump(root, out_json, err, errlen);
	goto cleanup;
nomem:
	snprintf(err, errlen, "out of memory");
cleanup:
	json_decref(root);
	return ret;
}

int pw_conflist_chain(const char *in_json, char **out_json, char *err, size_t errlen)
{
	return pw_conflist_chain_sock(in_json, NULL, out_json, err, errlen);
}

int pw_conflist_unchain(const char *in_json, char **out_json, char *err, size_t errlen)
{
	json_t *root = NULL, *plugins;
	size_t i = 0;
	int ret;

	*out_json = NULL;
	ret = conflist_load(in_json, &root, &plugins, err, errlen);
	if (ret)
		return ret;
	while (i < json_array_size(plugins)) {
		if (is_podwall(json_array_get(plugins, i)))
			json_array_remove(plugins, i);
		else
			i++;
	}
	ret = conflist_dump(root, out_json, err, errlen);
	json_decref(root);
	return ret;
}

static int read_conflist(int fd, char **out, char *err, size_t errlen)
{
	size_t len;
	int ret = pw_read_fd(fd, PW_CONFLIST_MAX_SIZE, out, &len);

	if (ret == -EFBIG)
		snprintf(err, errlen, "larger than %d bytes", PW_CONFLIST_MAX_SIZE);
	else if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	else if (ret)
		snprintf(err, errlen, "read: %s", strerror(-ret));
	if (ret)
		return ret;
	if (memchr(*out, '\0', len)) {
		snprintf(err, errlen, "contains a NUL byte");
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

/* Write data to path through a temporary file in the same directory, with st's
 * mode and owner. The temporary name starts with '.' and does not end in
 * .conf/.conflist/.json, so a runtime watching the directory never loads it. */
static int replace_file(const char *path, const struct stat *st, const char *data, char *err,
			size_t errlen)
{
	char *dcopy = NULL, *bcopy = NULL, *tmp = NULL;
	const char *dir;
	int fd = -1, dfd = -1, ret;

	dcopy = strdup(path);
	bcopy = strdup(path);
	if (!dcopy || !bcopy) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	dir = dirname(dcopy);
	if (asprintf(&tmp, "%s/.%s.podwall-XXXXXX", dir, basename(bcopy)) < 0) {
		tmp = NULL;
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create a temporary file in %s: %s", dir,
			 strerror(errno));
		free(tmp);
		tmp = NULL;
		goto cleanup;
	}
	if (fchmod(fd, st->st_mode & 07777) || fchown(fd, st->st_uid, st->st_gid)) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot set mode/owner: %s", tmp, strerror(errno));
		goto cleanup;
	}
	ret = pw_write_all(fd, data, strlen(data));
	if (!ret && fsync(fd))
		ret = -errno;
	if (ret) {
		snprintf(err, errlen, "%s: write: %s", tmp, strerror(-ret));
		goto cleanup;
	}
	if (close(fd)) {
		fd = -1;
		ret = -errno;
		snprintf(err, errlen, "%s: close: %s", tmp, strerror(errno));
		goto cleanup;
	}
	fd = -1;
	if (rename(tmp, path)) {
		ret = -errno;
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path, strerror(errno));
		goto cleanup;
	}
	free(tmp);
	tmp = NULL;
	/* Make the rename durable; a failure here changes nothing already done. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fsync(dfd);
	ret = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dcopy);
	free(bcopy);
	return ret;
}

static int rewrite(const char *path, const char *socket, bool chain, bool *changed, char *err,
		   size_t errlen)
{
	char *in = NULL, *out = NULL, why[256];
	struct stat st;
	int fd, ret;

	if (changed)
		*changed = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
		goto cleanup;
	}
	ret = read_conflist(fd, &in, why, sizeof(why));
	if (!ret)
		ret = chain ? pw_conflist_chain_sock(in, socket, &out, why, sizeof(why))
			    : pw_conflist_unchain(in, &out, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto cleanup;
	}
	if (!strcmp(in, out))
		goto cleanup;
	ret = replace_file(path, &st, out, err, errlen);
	if (!ret && changed)
		*changed = true;
cleanup:
	close(fd);
	free(in);
	free(out);
	return ret;
}

int pw_conflist_chain_file(const char *path, const char *socket, bool *changed, char *err,
			   size_t errlen)
{
	return rewrite(path, socket, true, changed, err, errlen);
}

int pw_conflist_unchain_file(const char *path, bool *changed, char *err, size_t errlen)
{
	return rewrite(path, NULL, false, changed, err, errlen);
}
