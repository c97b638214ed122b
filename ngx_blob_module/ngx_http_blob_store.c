
/*
 * ngx_blob_module: the on-disk layout (docs/LAYOUT.md).
 *
 *   <root>/<container>/<blob name>          the blob's bytes, a plain file
 *   <root>/.blob/tmp/                       staging files, then rename(2)
 *   <root>/.blob/state/<container>/<hh>/<sha256(blob name)>/
 *        name                               the blob's name
 *        m-<etag>                           properties of one version
 *        l-<etag>                           committed block list of it
 *        b-<hex block id>                   uncommitted blocks
 *   <root>/.blob/containers/<container>.json
 *   <root>/.blob/trash/                     deleted trees, emptied by GC
 *
 * Everything here runs in thread tasks: it is all syscalls on a network
 * filesystem.  Nothing relies on locks or on caches being coherent across
 * hosts: a version's properties are written under a name derived from the
 * data file's identity before the data file is renamed into place, so the
 * rename is the single moment a new version (bytes and properties) appears.
 */


#include "ngx_http_blob_module.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>
#include <linux/openat2.h>


#define NGX_HTTP_BLOB_PUBLISH_TRIES  8
#define NGX_HTTP_BLOB_PRUNE_AGE      60


static ngx_int_t ngx_http_blob_store_remove_tree_r(ngx_http_blob_ctx_t *ctx,
    u_char *path, size_t len, size_t size, ngx_uint_t depth);
static ngx_int_t ngx_http_blob_store_write(ngx_http_blob_ctx_t *ctx,
    u_char *path, u_char *data, size_t len, ngx_uint_t in_place);
static ngx_int_t ngx_http_blob_store_fsync_dir(ngx_http_blob_ctx_t *ctx,
    int dirfd);


ngx_int_t
ngx_http_blob_container_name_valid(ngx_str_t *name)
{
    u_char      c;
    ngx_uint_t  i;

    if (name->len < 3 || name->len > 63) {
        return 0;
    }

    for (i = 0; i < name->len; i++) {
        c = name->data[i];

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            continue;
        }

        if (c == '-' && i > 0 && i < name->len - 1
            && name->data[i - 1] != '-')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


/*
 * A blob name maps to a path, so names a filesystem cannot hold as a file
 * are refused (docs/LAYOUT.md, "names"): empty segments (leading, trailing
 * or double slashes), "." and "..", and over-long segments or names.
 */

ngx_int_t
ngx_http_blob_blob_name_valid(ngx_str_t *name)
{
    u_char  *p, *last, *seg;

    if (name->len == 0 || name->len > NGX_HTTP_BLOB_MAX_NAME) {
        return 0;
    }

    p = name->data;
    last = p + name->len;

    for ( ;; ) {
        seg = p;

        while (p < last && *p != '/') {
            if (*p == '\0') {
                return 0;
            }

            p++;
        }

        if (p == seg || p - seg > NGX_HTTP_BLOB_MAX_SEGMENT) {
            return 0;
        }

        if ((p - seg == 1 && seg[0] == '.')
            || (p - seg == 2 && seg[0] == '.' && seg[1] == '.'))
        {
            return 0;
        }

        if (p == last) {
            return 1;
        }

        p++;   /* the slash; a trailing one leaves an empty segment */
    }
}


static u_char *
ngx_http_blob_store_cpy(u_char *p, ngx_str_t *s)
{
    return ngx_cpymem(p, s->data, s->len);
}


ngx_int_t
ngx_http_blob_store_paths(ngx_http_request_t *r, ngx_http_blob_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t  *root;

    root = &ctx->account->root;

    ctx->account_root.len = root->len;
    ctx->account_root.data = ngx_pnalloc(r->pool, root->len + 1);
    if (ctx->account_root.data == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(ctx->account_root.data, root->data, root->len) = '\0';

    if (ctx->level == NGX_HTTP_BLOB_LEVEL_SERVICE) {
        return NGX_OK;
    }

    ctx->container_path.len = root->len + 1 + ctx->container.len;
    p = ngx_pnalloc(r->pool, ctx->container_path.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->container_path.data = p;
    p = ngx_http_blob_store_cpy(p, root);
    *p++ = '/';
    p = ngx_http_blob_store_cpy(p, &ctx->container);
    *p = '\0';

    if (ctx->level == NGX_HTTP_BLOB_LEVEL_CONTAINER) {
        return NGX_OK;
    }

    ctx->blob_path.len = ctx->container_path.len + 1 + ctx->blob.len;
    p = ngx_pnalloc(r->pool, ctx->blob_path.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->blob_path.data = p;
    p = ngx_http_blob_store_cpy(p, &ctx->container_path);
    *p++ = '/';
    p = ngx_http_blob_store_cpy(p, &ctx->blob);
    *p = '\0';

    return ngx_http_blob_store_state_dir(r->pool, root, &ctx->container,
                                         &ctx->blob, &ctx->state_path);
}


/*
 * A blob's state directory is named by a hash of its name: blob names can
 * hold any byte but NUL, so no naming scheme beside the blob could be
 * collision-free, and a hash keeps the state tree flat.
 */

ngx_int_t
ngx_http_blob_store_state_dir(ngx_pool_t *pool, ngx_str_t *root,
    ngx_str_t *container, ngx_str_t *blob, ngx_str_t *out)
{
    u_char        *p;
    u_char         md[EVP_MAX_MD_SIZE];
    unsigned int   mdlen;

    if (!EVP_Digest(blob->data, blob->len, md, &mdlen, EVP_sha256(), NULL)) {
        return NGX_ERROR;
    }

    out->len = root->len + sizeof("/" NGX_HTTP_BLOB_STATE_DIR "/state/") - 1
               + container->len + sizeof("/hh/") - 1 + 2 * mdlen;

    p = ngx_pnalloc(pool, out->len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    p = ngx_http_blob_store_cpy(p, root);
    p = ngx_cpymem(p, "/" NGX_HTTP_BLOB_STATE_DIR "/state/",
                   sizeof("/" NGX_HTTP_BLOB_STATE_DIR "/state/") - 1);
    p = ngx_http_blob_store_cpy(p, container);
    *p++ = '/';
    p = ngx_hex_dump(p, md, 1);
    *p++ = '/';
    p = ngx_hex_dump(p, md, mdlen);
    *p = '\0';

    return NGX_OK;
}


ngx_int_t
ngx_http_blob_store_temp_name(ngx_pool_t *pool, ngx_str_t *root,
    ngx_str_t *out)
{
    u_char  *p;

    out->len = root->len + sizeof("/" NGX_HTTP_BLOB_STATE_DIR "/tmp/") - 1
               + NGX_INT_T_LEN + 1 + NGX_TIME_T_LEN + 1 + 2 * 8
               + sizeof(".tmp") - 1;

    p = ngx_pnalloc(pool, out->len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    /* pid, time and randomness: unique across hosts without coordination */

    p = ngx_sprintf(p, "%V/" NGX_HTTP_BLOB_STATE_DIR "/tmp/%P-%T-%08xD%08xD"
                    ".tmp", root, ngx_pid, ngx_time(),
                    (uint32_t) ngx_random(), (uint32_t) ngx_random());
    *p = '\0';

    out->len = p - out->data;

    return NGX_OK;
}


/*
 * The ETag is a function of what every host sees of the file: inode
 * number, size and modification time in nanoseconds.  Writes through the
 * API set the time to the commit's nanosecond clock, so two versions never
 * share one; any change an NFS client makes changes it too.
 */

uint64_t
ngx_http_blob_store_etag(ngx_file_info_t *fi)
{
    uint64_t  h, v[3];
    int       i;

    v[0] = (uint64_t) fi->st_ino;
    v[1] = (uint64_t) fi->st_size;
    v[2] = (uint64_t) fi->st_mtim.tv_sec * 1000000000 + fi->st_mtim.tv_nsec;

    h = 0x8d0f5c1e2a3b4c5dULL;

    for (i = 0; i < 3; i++) {
        /* splitmix64 finalizer over the running state */
        h ^= v[i] + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
        h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
        h ^= h >> 31;
    }

    return h;
}


void
ngx_http_blob_store_props_from_file(ngx_http_blob_props_t *props,
    ngx_file_info_t *fi)
{
    props->size = fi->st_size;
    props->mtime = fi->st_mtim.tv_sec;
    props->mtime_ns = (uint64_t) fi->st_mtim.tv_sec * 1000000000
                      + fi->st_mtim.tv_nsec;
    props->ino = fi->st_ino;
    props->etag = ngx_http_blob_store_etag(fi);
    props->creation_time = fi->st_mtim.tv_sec;
    props->resident = 1;
}


static ngx_int_t
ngx_http_blob_store_json_str(ngx_pool_t *pool, json_t *obj, const char *key,
    ngx_str_t *out)
{
    size_t       len;
    const char  *s;
    json_t      *v;

    v = json_object_get(obj, key);

    if (v == NULL || !json_is_string(v)) {
        ngx_str_null(out);
        return NGX_OK;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    out->data = ngx_pnalloc(pool, len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, s, len);
    out->data[len] = '\0';
    out->len = len;

    return NGX_OK;
}


static u_char *
ngx_http_blob_store_version_name(u_char *p, ngx_str_t *state, char prefix,
    uint64_t etag)
{
    return ngx_sprintf(p, "%V/%c-%016xL%Z", state, prefix, etag);
}


ngx_int_t
ngx_http_blob_store_load_props(ngx_pool_t *pool, ngx_http_blob_ctx_t *ctx,
    ngx_str_t *state_path, ngx_file_info_t *fi, ngx_http_blob_props_t *props)
{
    u_char        *path;
    size_t         i, n;
    json_t        *root, *meta, *pair;
    ngx_int_t      rc;
    ngx_str_t      data, md5, decoded;
    json_error_t   error;
    ngx_keyval_t  *kv;

    ngx_memzero(props, sizeof(ngx_http_blob_props_t));

    if (ctx->props_cached
        && ctx->props_cached->etag == ngx_http_blob_store_etag(fi))
    {
        /* the version the cache has seen: what its sidecar says */
        *props = *ctx->props_cached;

        props->size = fi->st_size;
        props->mtime = fi->st_mtim.tv_sec;
        props->mtime_ns = (uint64_t) fi->st_mtim.tv_sec * 1000000000
                          + fi->st_mtim.tv_nsec;
        props->ino = fi->st_ino;

        return NGX_OK;
    }

    if (ngx_array_init(&props->metadata, pool, 4, sizeof(ngx_keyval_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_blob_store_props_from_file(props, fi);

    path = ngx_pnalloc(pool, state_path->len + sizeof("/m-") + 16);
    if (path == NULL) {
        return NGX_ERROR;
    }

    ngx_http_blob_store_version_name(path, state_path, 'm', props->etag);

    rc = ngx_http_blob_store_read_file(pool, ctx, path, &data, 256 * 1024);

    if (rc != NGX_OK) {
        /*
         * No sidecar: a file written by NFS clients, default properties.
         * On a local filesystem that is known for good when the file is
         * not there: a version's sidecar is written before the blob has
         * its ETag, never after (docs/LAYOUT.md), so the defaults may be
         * cached as well.  Not on NFS: another host's new sidecar may be
         * hidden for a while by this host's cached "no such file" for its
         * directory, and would then stay hidden behind the cache.
         */

        if (rc == NGX_DECLINED
            && ctx->account->root_local
            && (ctx->err == NGX_ENOENT || ctx->err == NGX_ENOTDIR))
        {
            ctx->props_read = 1;
        }

        ctx->err = 0;
        ctx->failed = NULL;
        return NGX_OK;
    }

    ctx->props_read = 1;

    root = json_loadb((char *) data.data, data.len, 0, &error);
    if (root == NULL || !json_is_object(root)) {
        if (root) {
            json_decref(root);
        }

        return NGX_OK;
    }

    if (ngx_http_blob_store_json_str(pool, root, "content_type",
                                     &props->content_type) != NGX_OK
        || ngx_http_blob_store_json_str(pool, root, "content_encoding",
                                        &props->content_encoding) != NGX_OK
        || ngx_http_blob_store_json_str(pool, root, "content_language",
                                        &props->content_language) != NGX_OK
        || ngx_http_blob_store_json_str(pool, root, "content_disposition",
                                        &props->content_disposition) != NGX_OK
        || ngx_http_blob_store_json_str(pool, root, "cache_control",
                                        &props->cache_control) != NGX_OK
        || ngx_http_blob_store_json_str(pool, root, "content_md5", &md5)
           != NGX_OK)
    {
        json_decref(root);
        return NGX_ERROR;
    }

    if (md5.len == ngx_base64_encoded_length(16)) {
        decoded.data = props->content_md5;

        if (ngx_decode_base64(&decoded, &md5) == NGX_OK && decoded.len == 16) {
            props->has_md5 = 1;
        }
    }

    if (json_is_integer(json_object_get(root, "creation_time"))) {
        props->creation_time = (time_t) json_integer_value(
                                     json_object_get(root, "creation_time"));
    }

    meta = json_object_get(root, "metadata");

    if (json_is_array(meta)) {
        n = json_array_size(meta);

        for (i = 0; i < n; i++) {
            pair = json_array_get(meta, i);

            if (!json_is_array(pair) || json_array_size(pair) != 2
                || !json_is_string(json_array_get(pair, 0))
                || !json_is_string(json_array_get(pair, 1)))
            {
                continue;
            }

            kv = ngx_array_push(&props->metadata);
            if (kv == NULL) {
                json_decref(root);
                return NGX_ERROR;
            }

            kv->key.len = json_string_length(json_array_get(pair, 0));
            kv->value.len = json_string_length(json_array_get(pair, 1));

            kv->key.data = ngx_pnalloc(pool, kv->key.len);
            kv->value.data = ngx_pnalloc(pool, kv->value.len + 1);
            if (kv->key.data == NULL || kv->value.data == NULL) {
                json_decref(root);
                return NGX_ERROR;
            }

            ngx_memcpy(kv->key.data,
                       json_string_value(json_array_get(pair, 0)),
                       kv->key.len);
            ngx_memcpy(kv->value.data,
                       json_string_value(json_array_get(pair, 1)),
                       kv->value.len);
        }
    }

    if (json_is_false(json_object_get(root, "resident"))) {
        props->resident = 0;
    }

    json_decref(root);

    return NGX_OK;
}


static json_t *
ngx_http_blob_store_json_string(ngx_str_t *s)
{
    return json_stringn((const char *) s->data, s->len);
}


ngx_int_t
ngx_http_blob_store_save_props(ngx_pool_t *pool, ngx_http_blob_ctx_t *ctx,
    ngx_str_t *state_path, ngx_http_blob_props_t *props)
{
    char          *dump;
    u_char        *path, md5[ngx_base64_encoded_length(16) + 1];
    json_t        *root, *meta;
    ngx_int_t      rc;
    ngx_str_t      src, dst;
    ngx_uint_t     i;
    ngx_keyval_t  *kv;

    root = json_object();
    meta = json_array();

    if (root == NULL || meta == NULL) {
        goto failed;
    }

    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "etag", json_integer((json_int_t) props->etag));
    json_object_set_new(root, "size", json_integer(props->size));
    json_object_set_new(root, "creation_time",
                        json_integer(props->creation_time));
    json_object_set_new(root, "resident", json_boolean(props->resident));

    if (props->content_type.len) {
        json_object_set_new(root, "content_type",
                      ngx_http_blob_store_json_string(&props->content_type));
    }

    if (props->content_encoding.len) {
        json_object_set_new(root, "content_encoding",
                  ngx_http_blob_store_json_string(&props->content_encoding));
    }

    if (props->content_language.len) {
        json_object_set_new(root, "content_language",
                  ngx_http_blob_store_json_string(&props->content_language));
    }

    if (props->content_disposition.len) {
        json_object_set_new(root, "content_disposition",
               ngx_http_blob_store_json_string(&props->content_disposition));
    }

    if (props->cache_control.len) {
        json_object_set_new(root, "cache_control",
                     ngx_http_blob_store_json_string(&props->cache_control));
    }

    if (props->has_md5) {
        src.data = props->content_md5;
        src.len = 16;
        dst.data = md5;
        ngx_encode_base64(&dst, &src);
        md5[dst.len] = '\0';
        json_object_set_new(root, "content_md5",
                            ngx_http_blob_store_json_string(&dst));
    }

    kv = props->metadata.elts;

    for (i = 0; kv && i < props->metadata.nelts; i++) {
        json_array_append_new(meta,
                        json_pack("[s#s#]", kv[i].key.data, kv[i].key.len,
                                  kv[i].value.data, kv[i].value.len));
    }

    json_object_set_new(root, "metadata", meta);
    meta = NULL;

    dump = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    root = NULL;

    if (dump == NULL) {
        goto failed;
    }

    path = ngx_pnalloc(pool, state_path->len + sizeof("/m-") + 16);
    if (path == NULL) {
        free(dump);
        goto failed;
    }

    ngx_http_blob_store_version_name(path, state_path, 'm', props->etag);

    rc = ngx_http_blob_store_write_new_file(ctx, path, (u_char *) dump,
                                            ngx_strlen(dump));
    free(dump);

    if (rc != NGX_OK) {
        return rc;
    }

    /* the collector maps a state directory back to its blob by this */

    return ngx_http_blob_store_write_name(ctx, state_path);

failed:

    if (root) {
        json_decref(root);
    }

    if (meta) {
        json_decref(meta);
    }

    ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    ctx->failed = "saving properties";

    return NGX_ERROR;
}


ngx_int_t
ngx_http_blob_store_write_name(ngx_http_blob_ctx_t *ctx, ngx_str_t *state_path)
{
    u_char  *path;

    path = ngx_pnalloc(ctx->task_pool, state_path->len + sizeof("/name"));
    if (path == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(path, "%V/name%Z", state_path);

    if (access((char *) path, F_OK) == 0) {
        return NGX_OK;
    }

    return ngx_http_blob_store_write_file(ctx, path, ctx->blob.data,
                                          ctx->blob.len);
}


/*
 * Drop the properties and block lists of versions other than keep_etag,
 * and with "blocks" the uncommitted blocks too (a commit discards them), in
 * one pass over the directory.  Version files younger than a minute stay:
 * they may belong to a concurrent commit of the same blob that has not
 * renamed its data yet; the collector takes them if that commit lost.
 */

void
ngx_http_blob_store_prune(ngx_http_blob_ctx_t *ctx, ngx_str_t *state_path,
    uint64_t keep_etag, ngx_uint_t blocks)
{
    u_char          keep[sizeof("m-") + 16], *path, *p;
    DIR            *dir;
    size_t          len;
    struct stat     st;
    struct dirent  *de;

    dir = opendir((char *) state_path->data);
    if (dir == NULL) {
        return;
    }

    ngx_sprintf(keep, "m-%016xL%Z", keep_etag);

    path = ngx_pnalloc(ctx->task_pool, state_path->len + 1 + NAME_MAX + 1);
    if (path == NULL) {
        closedir(dir);
        return;
    }

    p = ngx_cpymem(path, state_path->data, state_path->len);
    *p++ = '/';

    while ((de = readdir(dir)) != NULL) {

        len = ngx_strlen(de->d_name);

        if (blocks && len > 2 && de->d_name[1] == '-'
            && (de->d_name[0] == 'b' || de->d_name[0] == 'i'))
        {
            ngx_cpystrn(p, (u_char *) de->d_name, len + 1);
            (void) unlink((char *) path);
            continue;
        }

        if (len != sizeof("m-") - 1 + 16
            || (de->d_name[0] != 'm' && de->d_name[0] != 'l')
            || de->d_name[1] != '-'
            || ngx_strcmp(de->d_name + 2, keep + 2) == 0)
        {
            continue;
        }

        ngx_cpystrn(p, (u_char *) de->d_name, len + 1);

        if (lstat((char *) path, &st) == -1
            || st.st_mtime > ngx_time() - NGX_HTTP_BLOB_PRUNE_AGE)
        {
            continue;
        }

        (void) unlink((char *) path);
    }

    closedir(dir);
}


/*
 * Create the directories above a path, from base_len on.  A directory just
 * made may be removed again before its child is: the collector removes
 * empty state buckets, Delete Blob empty virtual directories (on any
 * host); then the walk starts over.
 */

ngx_int_t
ngx_http_blob_store_mkdir_parents(ngx_http_blob_ctx_t *ctx, u_char *path,
    size_t base_len)
{
    u_char      *p;
    ngx_uint_t   tries;

    tries = 0;

    for (p = path + base_len + 1; *p; p++) {

        if (*p != '/') {
            continue;
        }

        *p = '\0';

        if (mkdir((char *) path, 0755) == -1 && ngx_errno != NGX_EEXIST) {

            if (ngx_errno == NGX_ENOENT && p > path + base_len + 1
                && tries++ < NGX_HTTP_BLOB_PUBLISH_TRIES)
            {
                *p = '/';
                p = path + base_len;
                continue;
            }

            ctx->err = ngx_errno;
            ctx->failed = "mkdir()";
            *p = '/';

            ctx->error = (ctx->err == NGX_ENOTDIR)
                         ? NGX_HTTP_BLOB_ERR_PATH_CONFLICT
                         : ngx_http_blob_errno_error(ctx->err);
            return NGX_ERROR;
        }

        *p = '/';
    }

    return NGX_OK;
}


/* remove the directories above a path that became empty, as Azure's
 * virtual directories vanish with their last blob */

void
ngx_http_blob_store_rmdir_parents(u_char *path, size_t base_len)
{
    u_char  *p;

    for (p = path + ngx_strlen(path); p > path + base_len; p--) {

        if (*p != '/') {
            continue;
        }

        *p = '\0';

        if (rmdir((char *) path) == -1) {
            *p = '/';
            return;
        }

        *p = '/';
    }
}


/*
 * Open the directory that holds a blob, one component at a time beneath the
 * container, never following a symbolic link (a link an NFS client placed
 * in the tree cannot make a write land outside the container), creating
 * missing directories when asked.  Returns the directory and the last
 * component of the path in *base.
 */

static int
ngx_http_blob_store_parent(ngx_http_blob_ctx_t *ctx, u_char *path,
    size_t base_len, ngx_uint_t create, u_char **base)
{
    int      dirfd, fd;
    u_char  *p, *seg;

    /*
     * O_NOFOLLOW: nor may the container itself be a link (to anywhere
     * outside the account's root); the root's own path may have links
     */

    path[base_len] = '\0';
    dirfd = open((char *) path, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);
    path[base_len] = '/';

    if (dirfd == -1) {
        ctx->err = ngx_errno;
        ctx->error = (ctx->err == NGX_ENOENT || ctx->err == NGX_ENOTDIR)
                     ? NGX_HTTP_BLOB_ERR_CONTAINER_NOT_FOUND
                     : ngx_http_blob_errno_error(ctx->err);
        return -1;
    }

    seg = path + base_len + 1;

    for (p = seg; *p; p++) {

        if (*p != '/') {
            continue;
        }

        *p = '\0';

        fd = openat(dirfd, (char *) seg,
                    O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);

        if (fd == -1 && ngx_errno == NGX_ENOENT && create) {
            if (mkdirat(dirfd, (char *) seg, 0755) == 0
                || ngx_errno == NGX_EEXIST)
            {
                fd = openat(dirfd, (char *) seg,
                            O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);
            }
        }

        *p = '/';

        if (fd == -1) {
            ctx->err = ngx_errno;
            close(dirfd);

            switch (ctx->err) {

            case NGX_ENOENT:
                ctx->error = NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND;
                break;

            case NGX_ENOTDIR:
            case ELOOP:
            case NGX_EEXIST:
                ctx->error = NGX_HTTP_BLOB_ERR_PATH_CONFLICT;
                break;

            default:
                ctx->failed = "openat() of a directory";
                ctx->error = ngx_http_blob_errno_error(ctx->err);
            }

            return -1;
        }

        close(dirfd);
        dirfd = fd;
        seg = p + 1;
    }

    *base = seg;

    return dirfd;
}


/* fstatat() of a blob: NGX_OK for a regular file, else ctx->error says */

ngx_int_t
ngx_http_blob_store_stat(ngx_http_blob_ctx_t *ctx, ngx_file_info_t *fi)
{
    int      dirfd;
    u_char  *base;

    dirfd = ngx_http_blob_store_parent(ctx, ctx->blob_path.data,
                                       ctx->container_path.len, 0, &base);
    if (dirfd == -1) {
        if (ctx->error == NGX_HTTP_BLOB_ERR_PATH_CONFLICT) {
            ctx->error = NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND;
        }

        return NGX_DECLINED;
    }

    if (fstatat(dirfd, (char *) base, fi, AT_SYMLINK_NOFOLLOW) == -1
        || !S_ISREG(fi->st_mode))
    {
        close(dirfd);
        ctx->error = NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND;
        return NGX_DECLINED;
    }

    close(dirfd);

    return NGX_OK;
}


/* unlink a blob's file, confined to its container */

ngx_int_t
ngx_http_blob_store_unlink(ngx_http_blob_ctx_t *ctx)
{
    int      dirfd;
    u_char  *base;

    dirfd = ngx_http_blob_store_parent(ctx, ctx->blob_path.data,
                                       ctx->container_path.len, 0, &base);
    if (dirfd == -1) {
        return NGX_ERROR;
    }

    if (unlinkat(dirfd, (char *) base, 0) == -1) {
        ctx->err = ngx_errno;
        close(dirfd);

        if (ctx->err == NGX_ENOENT) {
            ctx->error = NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND;

        } else if (ctx->err == NGX_EISDIR) {
            ctx->error = NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND;

        } else {
            ctx->failed = "unlinkat()";
            ctx->error = ngx_http_blob_errno_error(ctx->err);
        }

        return NGX_ERROR;
    }

    /* an acknowledged delete must not come back after a power cut */

    if (ctx->conf->fsync
        && ngx_http_blob_store_fsync_dir(ctx, dirfd) != NGX_OK)
    {
        close(dirfd);
        return NGX_ERROR;
    }

    close(dirfd);

    return NGX_OK;
}


/*
 * fsync(2) of a directory, so that the names made or removed in it last.
 * A filesystem that cannot sync a directory (EINVAL) keeps its names
 * durable some other way, or not at all: nothing more can be done.
 */

static ngx_int_t
ngx_http_blob_store_fsync_dir(ngx_http_blob_ctx_t *ctx, int dirfd)
{
    if (fsync(dirfd) == -1 && ngx_errno != NGX_EINVAL) {
        ctx->err = ngx_errno;
        ctx->failed = "fsync() of a directory";
        ctx->error = ngx_http_blob_errno_error(ctx->err);

        if (ctx->error == NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND) {
            ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Make a staged file the blob: rename(2) replaces atomically, so readers
 * see the old or the new file.  A concurrent delete may remove an empty
 * parent directory between its creation and the rename: then try again.
 * With "exclusive" (If-None-Match: *) link(2) is used instead: it fails if
 * the name exists, so of any number of concurrent writers on any number of
 * hosts exactly one wins.  NFS may answer a retried link() with EEXIST
 * although it succeeded: the inode number tells.
 */

static ngx_int_t
ngx_http_blob_store_place(ngx_http_blob_ctx_t *ctx, u_char *from, u_char *to,
    size_t base_len, ngx_uint_t exclusive)
{
    int              dirfd, rc;
    u_char          *base;
    ngx_uint_t       i;
    ngx_file_info_t  fi_from, fi_to;

    for (i = 0; i < NGX_HTTP_BLOB_PUBLISH_TRIES; i++) {

        dirfd = ngx_http_blob_store_parent(ctx, to, base_len, 1, &base);

        if (dirfd == -1) {
            if (ctx->error == NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND) {
                continue;
            }

            return NGX_ERROR;
        }

        if (exclusive) {
            rc = linkat(AT_FDCWD, (char *) from, dirfd, (char *) base, 0);

        } else {
            rc = renameat(AT_FDCWD, (char *) from, dirfd, (char *) base);
        }

        ctx->err = (rc == -1) ? ngx_errno : 0;

        if (rc == -1 && exclusive && ctx->err == NGX_EEXIST) {

            if (stat((char *) from, &fi_from) == 0
                && fstatat(dirfd, (char *) base, &fi_to, AT_SYMLINK_NOFOLLOW)
                   == 0
                && fi_from.st_ino == fi_to.st_ino)
            {
                rc = 0;

            } else {
                close(dirfd);
                ctx->error = NGX_HTTP_BLOB_ERR_BLOB_ALREADY_EXISTS;
                return NGX_ERROR;
            }
        }

        /*
         * an acknowledged write must survive a power cut: the new name is
         * durable once its directory is (the data was fsync()ed as it was
         * staged; journals and NFS servers make metadata durable in order,
         * so the properties renamed into place before are too)
         */

        if (rc == 0 && ctx->conf->fsync
            && ngx_http_blob_store_fsync_dir(ctx, dirfd) != NGX_OK)
        {
            close(dirfd);
            return NGX_ERROR;
        }

        close(dirfd);

        if (rc == 0) {
            if (exclusive) {
                (void) unlink((char *) from);
            }

            return NGX_OK;
        }

        if (ctx->err != NGX_ENOENT) {
            break;
        }
    }

    if (ctx->err == NGX_EISDIR || ctx->err == NGX_ENOTDIR
        || ctx->err == ENOTEMPTY || ctx->err == NGX_EEXIST)
    {
        ctx->error = NGX_HTTP_BLOB_ERR_PATH_CONFLICT;
        return NGX_ERROR;
    }

    ctx->failed = exclusive ? "linkat()" : "renameat()";
    ctx->error = ngx_http_blob_errno_error(ctx->err);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_blob_store_publish(ngx_http_blob_ctx_t *ctx, u_char *from, u_char *to,
    size_t base_len)
{
    return ngx_http_blob_store_place(ctx, from, to, base_len, 0);
}


ngx_int_t
ngx_http_blob_store_publish_new(ngx_http_blob_ctx_t *ctx, u_char *from,
    u_char *to, size_t base_len)
{
    return ngx_http_blob_store_place(ctx, from, to, base_len, 1);
}


/* move a tree out of the namespace at once; the GC deletes it later */

ngx_int_t
ngx_http_blob_store_trash(ngx_http_blob_ctx_t *ctx, u_char *path)
{
    u_char  *p, *trash;
    size_t   len;

    len = ctx->account_root.len + sizeof("/" NGX_HTTP_BLOB_STATE_DIR
                                         "/trash/") - 1
          + NGX_INT_T_LEN + NGX_TIME_T_LEN + 2 * 8 + 4;

    trash = ngx_pnalloc(ctx->task_pool, len);
    if (trash == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    p = ngx_sprintf(trash, "%V/" NGX_HTTP_BLOB_STATE_DIR "/trash/x",
                    &ctx->account_root);
    ngx_sprintf(p - 1, "%P-%T-%08xD%08xD%Z", ngx_pid, ngx_time(),
                (uint32_t) ngx_random(), (uint32_t) ngx_random());

    if (ngx_http_blob_store_mkdir_parents(ctx, trash,
                                          ctx->account_root.len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (rename((char *) path, (char *) trash) == -1) {
        ctx->err = ngx_errno;

        if (ctx->err == NGX_ENOENT) {
            return NGX_DECLINED;
        }

        ctx->failed = "rename() to trash";
        ctx->error = ngx_http_blob_errno_error(ctx->err);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_blob_store_remove_tree(ngx_http_blob_ctx_t *ctx, u_char *path)
{
    u_char     *buf;
    size_t      len, size;

    len = ngx_strlen(path);
    size = len + NGX_HTTP_BLOB_MAX_NAME + 2 * NAME_MAX + 64;

    buf = ngx_pnalloc(ctx->task_pool, size);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(buf, path, len + 1);

    return ngx_http_blob_store_remove_tree_r(ctx, buf, len, size, 0);
}


static ngx_int_t
ngx_http_blob_store_remove_tree_r(ngx_http_blob_ctx_t *ctx, u_char *path,
    size_t len, size_t size, ngx_uint_t depth)
{
    DIR            *dir;
    size_t          nlen;
    ngx_int_t       rc;
    struct stat     st;
    struct dirent  *de;

    if (lstat((char *) path, &st) == -1) {
        return (ngx_errno == NGX_ENOENT) ? NGX_OK : NGX_ERROR;
    }

    if (!S_ISDIR(st.st_mode)) {
        return (unlink((char *) path) == 0 || ngx_errno == NGX_ENOENT)
               ? NGX_OK : NGX_ERROR;
    }

    if (depth > NGX_HTTP_BLOB_MAX_NAME) {
        return NGX_ERROR;
    }

    dir = opendir((char *) path);
    if (dir == NULL) {
        return (ngx_errno == NGX_ENOENT) ? NGX_OK : NGX_ERROR;
    }

    rc = NGX_OK;

    while ((de = readdir(dir)) != NULL) {

        if (ngx_strcmp(de->d_name, ".") == 0
            || ngx_strcmp(de->d_name, "..") == 0)
        {
            continue;
        }

        nlen = ngx_strlen(de->d_name);

        if (len + 1 + nlen + 1 > size) {
            rc = NGX_ERROR;
            continue;
        }

        path[len] = '/';
        ngx_memcpy(path + len + 1, de->d_name, nlen + 1);

        if (ngx_http_blob_store_remove_tree_r(ctx, path, len + 1 + nlen, size,
                                              depth + 1)
            != NGX_OK)
        {
            rc = NGX_ERROR;
        }

        path[len] = '\0';
    }

    closedir(dir);

    if (rmdir((char *) path) == -1 && ngx_errno != NGX_ENOENT) {
        rc = NGX_ERROR;
    }

    return rc;
}


/* write a small file whole: a temporary name beside it, then rename(2) */

ngx_int_t
ngx_http_blob_store_write_file(ngx_http_blob_ctx_t *ctx, u_char *path,
    u_char *data, size_t len)
{
    return ngx_http_blob_store_write(ctx, path, data, len, 0);
}


/*
 * A file whose name is new and that nobody reads before the caller says
 * so (a version's properties, named by an ETag no file has yet) is written
 * under that name at once: O_EXCL makes it ours, and a crash leaves a
 * partial file only under a name nothing refers to, for the collector.
 * That saves the rename of write_file(), a journal entry on every commit.
 */

ngx_int_t
ngx_http_blob_store_write_new_file(ngx_http_blob_ctx_t *ctx, u_char *path,
    u_char *data, size_t len)
{
    return ngx_http_blob_store_write(ctx, path, data, len, 1);
}


static ngx_int_t
ngx_http_blob_store_write(ngx_http_blob_ctx_t *ctx, u_char *path,
    u_char *data, size_t len, ngx_uint_t in_place)
{
    u_char      *tmp, *slash;
    size_t       plen;
    ssize_t      n;
    ngx_fd_t     fd;
    ngx_uint_t   tries;

    plen = ngx_strlen(path);

    if (in_place) {
        tmp = path;
        goto open;
    }

    tmp = ngx_pnalloc(ctx->task_pool,
                      plen + sizeof("/.t-") + 2 * 8 + NGX_INT_T_LEN);
    if (tmp == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    slash = (u_char *) strrchr((char *) path, '/');
    if (slash == NULL) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
        return NGX_ERROR;
    }

    ngx_sprintf(ngx_cpymem(tmp, path, slash - path),
                "/.t-%P-%08xD%08xD%Z", ngx_pid, (uint32_t) ngx_random(),
                (uint32_t) ngx_random());

open:

    fd = open((char *) tmp, O_WRONLY|O_CREAT|O_EXCL, 0644);

    if (fd == -1 && in_place && ngx_errno == NGX_EEXIST) {
        /* someone else's (a crashed attempt's): replace it atomically */
        return ngx_http_blob_store_write(ctx, path, data, len, 0);
    }

    /*
     * the directory itself is missing: create it and its parents; a
     * concurrent Delete Blob may move it to the trash again meanwhile
     */

    for (tries = 0;
         fd == -1 && ngx_errno == NGX_ENOENT
         && tries < NGX_HTTP_BLOB_PUBLISH_TRIES;
         tries++)
    {
        if (ngx_http_blob_store_mkdir_parents(ctx, tmp,
                                              ctx->account_root.len)
            != NGX_OK)
        {
            break;
        }

        fd = open((char *) tmp, O_WRONLY|O_CREAT|O_EXCL, 0644);
    }

    if (fd == -1) {
        ctx->err = ngx_errno;
        ctx->failed = "open() of a state file";
        goto failed;
    }

    while (len) {
        n = write(fd, data, len);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                continue;
            }

            ctx->err = ngx_errno;
            ctx->failed = "write() of a state file";
            close(fd);
            (void) unlink((char *) tmp);
            goto failed;
        }

        data += n;
        len -= n;
    }

    if (ctx->conf->fsync && fsync(fd) == -1) {
        ctx->err = ngx_errno;
        ctx->failed = "fsync() of a state file";
        close(fd);
        (void) unlink((char *) tmp);
        goto failed;
    }

    close(fd);

    if (tmp == path) {
        return NGX_OK;
    }

    if (rename((char *) tmp, (char *) path) == -1) {
        ctx->err = ngx_errno;
        ctx->failed = "rename() of a state file";
        (void) unlink((char *) tmp);
        goto failed;
    }

    return NGX_OK;

failed:

    ctx->error = ngx_http_blob_errno_error(ctx->err);

    if (ctx->error == NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND) {
        ctx->error = NGX_HTTP_BLOB_ERR_INTERNAL_ERROR;
    }

    return NGX_ERROR;
}


ngx_int_t
ngx_http_blob_store_read_file(ngx_pool_t *pool, ngx_http_blob_ctx_t *ctx,
    u_char *path, ngx_str_t *out, size_t max)
{
    size_t       size;
    ssize_t      n;
    ngx_fd_t     fd;
    struct stat  st;

    /* O_NONBLOCK: a FIFO planted in the tree cannot stall a thread */

    fd = open((char *) path, O_RDONLY|O_NONBLOCK|O_NOFOLLOW|O_CLOEXEC);
    if (fd == -1) {
        ctx->err = ngx_errno;
        ctx->failed = "open()";
        return NGX_DECLINED;
    }

    /*
     * state files are small: one read usually does, and the fstat() that
     * sizes a larger one is only paid by it (a GET reads one per request)
     */

    size = ngx_min(max + 1, 4096);

    for ( ;; ) {
        out->data = ngx_pnalloc(pool, size + 1);
        if (out->data == NULL) {
            close(fd);
            return NGX_ERROR;
        }

        n = pread(fd, out->data, size, 0);

        if (n == -1) {
            ctx->err = ngx_errno;
            ctx->failed = "pread()";
            close(fd);
            return NGX_ERROR;
        }

        if ((size_t) n < size) {
            break;
        }

        /* a full buffer: the file may be larger, size it */

        if (size > max
            || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)
            || (size_t) st.st_size > max)
        {
            ctx->err = ngx_errno;
            ctx->failed = "fstat()";
            close(fd);
            return NGX_ERROR;
        }

        size = st.st_size + 1;
    }

    close(fd);

    out->len = n;
    out->data[n] = '\0';

    return NGX_OK;
}


/*
 * Open a blob's file without ever leaving its container: resolution is
 * confined beneath the container directory (openat2 RESOLVE_BENEATH), so a
 * symbolic link that NFS clients placed in the tree cannot lead out of it.
 */

ngx_fd_t
ngx_http_blob_store_open(ngx_http_blob_ctx_t *ctx, int flags)
{
    int              dirfd;
    ngx_fd_t         fd;
    ngx_err_t        err;
    struct open_how  how;

    /* a FIFO an NFS client made in a container must not stall a thread */
    flags |= O_NONBLOCK;

    /*
     * The common case in one call: a path without any symbolic link cannot
     * leave its container (names have no "." or ".." segments).  Any
     * failure, a link anywhere on the path included, takes the careful way
     * below, which also tells a missing container from a missing blob.
     */

    ngx_memzero(&how, sizeof(struct open_how));
    how.flags = flags | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

    fd = syscall(SYS_openat2, AT_FDCWD, ctx->blob_path.data, &how,
                 sizeof(struct open_how));
    if (fd != -1) {
        return fd;
    }

    /* a container that is a link is none (ngx_http_blob_store_parent) */

    dirfd = open((char *) ctx->container_path.data,
                 O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);

    if (dirfd == -1) {
        ctx->err = ngx_errno;
        ctx->error = (ctx->err == NGX_ENOENT || ctx->err == NGX_ENOTDIR)
                     ? NGX_HTTP_BLOB_ERR_CONTAINER_NOT_FOUND
                     : ngx_http_blob_errno_error(ctx->err);
        return NGX_INVALID_FILE;
    }

    ngx_memzero(&how, sizeof(struct open_how));
    how.flags = flags | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;

    fd = syscall(SYS_openat2, dirfd,
                 ctx->blob_path.data + ctx->container_path.len + 1,
                 &how, sizeof(struct open_how));

    if (fd == -1 && ngx_errno == ENOSYS) {
        fd = openat(dirfd,
                    (char *) ctx->blob_path.data + ctx->container_path.len + 1,
                    flags | O_CLOEXEC | O_NOFOLLOW);
    }

    err = ngx_errno;
    close(dirfd);

    if (fd == -1) {
        ctx->err = err;

        switch (err) {

        case NGX_ENOENT:
        case NGX_ENOTDIR:
        case ELOOP:
        case EXDEV:
            ctx->error = NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND;
            break;

        case NGX_EISDIR:
            ctx->error = NGX_HTTP_BLOB_ERR_BLOB_NOT_FOUND;
            break;

        default:
            ctx->error = ngx_http_blob_errno_error(err);
            ctx->failed = "openat2()";
        }

        return NGX_INVALID_FILE;
    }

    return fd;
}


/*
 * Reads answered on the event loop (blob_cached_reads) need a filesystem
 * whose opens never wait once the path is in the kernel's caches.  A
 * local disk filesystem or tmpfs is one: with RESOLVE_CACHED, openat2()
 * fails with EAGAIN instead of reading a directory block, and opening and
 * fstat()ing a cached inode is memory work.  An NFS open is an OPEN or
 * GETATTR round trip (close-to-open consistency), a FUSE open asks the
 * daemon: on those, and on anything not known here, every call stays in
 * the thread pool.
 */

static const ngx_uint_t  ngx_http_blob_store_local_fs[] = {
    EXT4_SUPER_MAGIC,           /* also ext2 and ext3 */
    XFS_SUPER_MAGIC,
    BTRFS_SUPER_MAGIC,
    TMPFS_MAGIC
};


void
ngx_http_blob_store_probe_root(ngx_conf_t *cf, ngx_http_blob_account_t *account)
{
    int               fd;
    u_char           *root;
    ngx_uint_t        i, n;
    struct stat       st;
    struct statfs     fs;
    struct open_how   how;

    account->root_local = 0;

    root = ngx_pnalloc(cf->temp_pool, account->root.len + 1);
    if (root == NULL) {
        return;
    }

    (void) ngx_cpystrn(root, account->root.data, account->root.len + 1);

    /* at startup, as nginx opens its own files: not in the data path */

    if (statfs((char *) root, &fs) == -1 || stat((char *) root, &st) == -1) {
        /* a root made later is read through the thread pool alone */
        return;
    }

    n = sizeof(ngx_http_blob_store_local_fs)
        / sizeof(ngx_http_blob_store_local_fs[0]);

    for (i = 0; i < n; i++) {
        if ((ngx_uint_t) fs.f_type == ngx_http_blob_store_local_fs[i]) {
            break;
        }
    }

    if (i == n) {
        return;
    }

    /*
     * the cached opens' own flags: a kernel before 5.12 (no
     * RESOLVE_CACHED) says EINVAL, a root reached through a symbolic link
     * ELOOP, and either would refuse every cached open
     */

    ngx_memzero(&how, sizeof(struct open_how));
    how.flags = O_PATH|O_DIRECTORY|O_CLOEXEC;
    how.resolve = RESOLVE_CACHED|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS;

    fd = syscall(SYS_openat2, AT_FDCWD, root, &how, sizeof(struct open_how));

    if (fd == -1 && ngx_errno != NGX_EAGAIN) {
        ngx_conf_log_error(NGX_LOG_NOTICE, cf, ngx_errno,
                           "account \"%V\": reads of \"%s\" go through the "
                           "thread pool (blob_cached_reads)",
                           &account->name, root);
        return;
    }

    if (fd != -1) {
        (void) close(fd);
    }

    account->root_dev = st.st_dev;
    account->root_local = 1;
}


/*
 * The open of a read answered on the event loop: only if no step of the
 * lookup needs I/O (RESOLVE_CACHED), only for a regular file on the
 * account root's own filesystem, and without following any symbolic link,
 * so that the file is the one at the path, inside its container.  Anything
 * else, an error included, is NGX_INVALID_FILE: the read goes to the
 * thread pool, which answers the careful way.
 *
 * *noatime asks for O_NOATIME (the caller reads the file here: on ext4 an
 * atime update may wait for the journal); it is 0 on return when the
 * worker may not have it (O_NOATIME is for the file's owner).
 */

ngx_fd_t
ngx_http_blob_store_open_cached(ngx_http_blob_ctx_t *ctx, ngx_file_info_t *fi,
    ngx_uint_t *noatime)
{
    int              rc;
    ngx_fd_t         fd;
    struct statx     stx;
    struct open_how  how;

    if (!ctx->account->root_local) {
        return NGX_INVALID_FILE;
    }

    ngx_memzero(&how, sizeof(struct open_how));
    how.resolve = RESOLVE_CACHED|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS;

    /*
     * First where the path leads, with a descriptor that opens nothing:
     * the root's own filesystem, and not one mounted below the root, or
     * over it after the configuration was read, where the open would be
     * a round trip to a server; a regular file, not a device whose
     * driver's open may wait.  AT_STATX_DONT_SYNC: even on such a
     * filesystem the answer comes from memory.
     */

    how.flags = O_PATH|O_CLOEXEC;

    fd = syscall(SYS_openat2, AT_FDCWD, ctx->blob_path.data, &how,
                 sizeof(struct open_how));
    if (fd == -1) {
        return NGX_INVALID_FILE;
    }

    rc = statx(fd, "", AT_EMPTY_PATH|AT_STATX_DONT_SYNC, STATX_TYPE, &stx);

    (void) close(fd);

    if (rc == -1
        || !S_ISREG(stx.stx_mode)
        || makedev(stx.stx_dev_major, stx.stx_dev_minor)
           != ctx->account->root_dev)
    {
        return NGX_INVALID_FILE;
    }

    how.flags = O_RDONLY|O_NONBLOCK|O_CLOEXEC;

    if (*noatime) {
        how.flags |= O_NOATIME;
    }

    fd = syscall(SYS_openat2, AT_FDCWD, ctx->blob_path.data, &how,
                 sizeof(struct open_how));

    if (fd == -1 && *noatime && ngx_errno == NGX_EPERM) {
        *noatime = 0;
        how.flags &= ~O_NOATIME;

        fd = syscall(SYS_openat2, AT_FDCWD, ctx->blob_path.data, &how,
                     sizeof(struct open_how));
    }

    if (fd == -1) {
        return NGX_INVALID_FILE;
    }

    /* the path may have changed since the statx() */

    if (fstat(fd, fi) == -1
        || !S_ISREG(fi->st_mode)
        || fi->st_dev != ctx->account->root_dev)
    {
        (void) close(fd);
        return NGX_INVALID_FILE;
    }

    return fd;
}
